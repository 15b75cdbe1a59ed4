-- Grain: one row per customer_key (a person with at least one purchase).
-- Status on as_of_date by days since the last purchase (METRICS 5): active up to var
-- active_days, at_risk up to var at_risk_days, churned beyond. p_alive and
-- predicted_ltv_12m come from the predictions model (BG/NBD and Gamma-Gamma fits).

with

customers as (
    select * from {{ ref('dim_customers') }}
),

predictions as (
    select * from {{ ref('customer_predictions') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

final as (
    select
        -- ids
        cast(customers.customer_key as varchar) as customer_key,
        -- dimensions
        cast(customers.cohort_month as date) as cohort_month,
        cast(customers.acquisition_channel as varchar) as acquisition_channel,
        -- dates
        cast(customers.first_purchase_date as date) as first_purchase_date,
        cast(customers.last_purchase_date as date) as last_purchase_date,
        -- numerics
        cast(customers.purchases as bigint) as purchases,
        cast(customers.net_revenue as double) as net_revenue,
        -- status and flags
        cast(
            case
                when
                    date_diff('day', customers.last_purchase_date, as_of.as_of_date)
                    <= {{ setting_int('active_days') }} then 'active'
                when
                    date_diff('day', customers.last_purchase_date, as_of.as_of_date)
                    <= {{ setting_int('at_risk_days') }} then 'at_risk'
                else 'churned'
            end as varchar
        ) as status,
        cast(customers.marketing_consent as boolean) as marketing_consent,
        -- predictions
        cast(predictions.p_alive as double) as p_alive,
        cast(predictions.predicted_ltv_12m as double) as predicted_ltv_12m
    from customers
    cross join as_of
    left join predictions on customers.customer_key = predictions.customer_key
)

select * from final
