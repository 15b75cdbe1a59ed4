-- Grain: one row per customer_key (a person with at least one purchase).
-- p_alive and predicted_ltv_12m stay null here: the predicted-LTV asset fills them in place
-- after each build (BG/NBD and Gamma-Gamma fits run in Python, not SQL).

with

customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select
        -- ids
        cast(customer_key as varchar) as customer_key,
        -- dimensions
        cast(cohort_month as date) as cohort_month,
        cast(acquisition_channel as varchar) as acquisition_channel,
        -- dates
        cast(first_purchase_date as date) as first_purchase_date,
        cast(last_purchase_date as date) as last_purchase_date,
        -- numerics
        cast(purchases as bigint) as purchases,
        cast(net_revenue as double) as net_revenue,
        -- status and flags
        cast(status as varchar) as status,
        cast(marketing_consent as boolean) as marketing_consent,
        -- predictions, filled later
        cast(null as double) as p_alive,
        cast(null as double) as predicted_ltv_12m
    from customers
)

select * from final
