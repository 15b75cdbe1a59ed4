-- One row per customer: a person with at least one purchase (paid or refunded order), with
-- the cohort (month of the first purchase), acquisition channel and lifetime purchases and
-- net revenue. Status on as_of_date is the customers mart's (it changes every day).
--
-- Incremental: the customers among int_people_changed are restated; the change feed records
-- the (cohort_month, acquisition_channel) groups that changed, for the cohort marts.
{{
    config(**restated_config(
        'customer_key',
        scope='int_people_changed',
        change_feed=['cohort_month', 'acquisition_channel'],
    ))
}}
{%- set people_changed = ref('int_people_changed') %}

with

purchases as (

    select * from {{ ref('fct_orders') }}
    where is_purchase and {{ people_changed_filter(people_changed) }}

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
    where {{ people_changed_filter(people_changed) }}

)

select
    -- ids
    customers.customer_key,

    -- attributes
    cast(date_trunc('month', customers.first_purchase_date) as date) as cohort_month,
    coalesce(people.acquisition_channel, 'direct') as acquisition_channel,
    coalesce(people.marketing_consent, false) as marketing_consent,
    coalesce(people.is_crm_contact, false) as is_crm_contact,

    -- dates
    customers.first_purchase_date,
    customers.last_purchase_date,

    -- numerics
    cast(customers.purchases as integer) as purchases,
    customers.net_revenue
from customers
left join people on customers.customer_key = people.customer_key
