-- One row per customer and month in which the customer is in a lifecycle state
-- (METRICS 5), from the cohort month on:
--   new           first purchase in the month
--   returning     purchased in the month and in the month before
--   resurrecting  purchased in the month, not in the month before, but earlier
--   dormant       purchased in the month before, not in this one
-- Months with none of these (long inactive) have no row. The month after the last purchase
-- is `dormant` even when it has not begun yet: lifecycle_monthly cuts at the as-of month.
--
-- Incremental: the customers among int_people_changed are restated; the change feed records
-- the (month, state) groups that changed, for lifecycle_monthly.
{{
    config(**restated_config(
        'customer_key',
        scope='int_people_changed',
        change_feed=['month', 'state'],
    ))
}}
{%- set people_changed = ref('int_people_changed') %}

with

purchase_months as (

    select
        customer_key,
        cast(date_trunc('month', order_date) as date) as month,  -- noqa: RF04
        count(*) as purchases,
        {{ exact_sum('net_revenue') }} as net_revenue
    from {{ ref('fct_orders') }}
    where is_purchase and {{ people_changed_filter(people_changed) }}
    group by all

),

customers as (

    select
        customer_key,
        cohort_month
    from {{ ref('dim_customers') }}
    where {{ people_changed_filter(people_changed) }}

),

candidate_months as (

    -- a state needs a purchase in the month or in the month before
    select
        customer_key,
        month
    from purchase_months
    union
    select
        customer_key,
        cast(month + interval 1 month as date) as month  -- noqa: RF04
    from purchase_months

),

classified as (

    select
        candidate_months.customer_key,
        candidate_months.month,
        customers.cohort_month,
        this_month.customer_key is not null as purchased_in_month,
        previous_month.customer_key is not null as purchased_in_previous_month,
        coalesce(this_month.purchases, 0) as purchases,
        coalesce(this_month.net_revenue, 0.0) as net_revenue
    from candidate_months
    inner join customers on candidate_months.customer_key = customers.customer_key
    left join purchase_months as this_month
        on
            candidate_months.customer_key = this_month.customer_key
            and candidate_months.month = this_month.month
    left join purchase_months as previous_month
        on
            candidate_months.customer_key = previous_month.customer_key
            and previous_month.month = cast(candidate_months.month - interval 1 month as date)

)

select
    customer_key,
    month,
    cohort_month,
    case
        when month = cohort_month then 'new'
        when purchased_in_month and purchased_in_previous_month then 'returning'
        when purchased_in_month then 'resurrecting'
        else 'dormant'
    end as state,
    cast(purchases as integer) as purchases,
    net_revenue
from classified
