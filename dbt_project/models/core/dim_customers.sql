-- One row per customer: a person with at least one purchase (paid or refunded order).
-- Status on as_of_date by days since the last purchase: active up to var active_days,
-- at_risk up to var at_risk_days, churned beyond (METRICS 5).
with

purchases as (

    select * from {{ ref('fct_orders') }}
    where is_purchase

),

customers as (

    select
        customer_key,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        count(*) as purchases,
        {{ exact_sum('net_revenue') }} as net_revenue
    from purchases
    group by customer_key

),

people as (

    select * from {{ ref('int_people_resolved') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

with_recency as (

    select
        customers.*,
        as_of.as_of_date,
        date_diff('day', customers.last_purchase_date, as_of.as_of_date)
            as days_since_last_purchase
    from customers
    cross join as_of

)

select
    -- ids
    with_recency.customer_key,

    -- attributes
    cast(date_trunc('month', with_recency.first_purchase_date) as date) as cohort_month,
    coalesce(people.acquisition_channel, 'direct') as acquisition_channel,
    case
        when with_recency.days_since_last_purchase <= {{ setting_int('active_days') }}
            then 'active'
        when with_recency.days_since_last_purchase <= {{ setting_int('at_risk_days') }}
            then 'at_risk'
        else 'churned'
    end as status,
    coalesce(people.marketing_consent, false) as marketing_consent,
    coalesce(people.is_crm_contact, false) as is_crm_contact,

    -- dates
    with_recency.first_purchase_date,
    with_recency.last_purchase_date,
    with_recency.as_of_date,
    cast(with_recency.days_since_last_purchase as integer) as days_since_last_purchase,

    -- numerics
    cast(with_recency.purchases as integer) as purchases,
    with_recency.net_revenue
from with_recency
left join people on with_recency.customer_key = people.customer_key
