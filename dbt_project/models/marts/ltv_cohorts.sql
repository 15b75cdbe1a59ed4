-- Grain: one row per (cohort_month, channel, months_since_first_purchase); channel is the
-- acquisition channel, plus 'all' for the whole cohort. Ages run from 0 to the cohort's age
-- in the as-of month (the last one is partial), with a row even when nobody purchased.

with

customers as (
    select * from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    select cast(date_trunc('month', as_of_date) as date) as as_of_month
    from {{ ref('int_as_of_date') }}
),

-- each purchase at its age in months; a late refund already sits in the order's
-- net_revenue, so it restates the age of the order, not the age of the refund
purchases_by_age as (
    select
        customers.customer_key,
        customers.cohort_month,
        customers.acquisition_channel,
        orders.net_revenue,
        date_diff(
            'month', customers.cohort_month, date_trunc('month', orders.order_date)
        ) as months_since_first_purchase
    from customers
    inner join orders
        on customers.customer_key = orders.customer_key
    where orders.is_purchase
),

cohort_sizes as (
    select
        cohort_month,
        acquisition_channel as channel,
        count(*) as cohort_customers
    from customers
    group by all
    union all
    select
        cohort_month,
        'all' as channel,
        count(*) as cohort_customers
    from customers
    group by all
),

cohort_activity as (
    select
        cohort_month,
        acquisition_channel as channel,
        months_since_first_purchase,
        count(distinct customer_key) as active_customers,
        {{ exact_sum('net_revenue') }} as net_revenue
    from purchases_by_age
    group by all
    union all
    select
        cohort_month,
        'all' as channel,
        months_since_first_purchase,
        count(distinct customer_key) as active_customers,
        {{ exact_sum('net_revenue') }} as net_revenue
    from purchases_by_age
    group by all
),

cohort_ages as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.channel,
        cohort_sizes.cohort_customers,
        unnest(range(
            0, date_diff('month', cohort_sizes.cohort_month, as_of.as_of_month) + 1
        )) as months_since_first_purchase
    from cohort_sizes
    cross join as_of
),

final as (
    select
        cohort_ages.cohort_month,
        cohort_ages.channel,
        cohort_ages.months_since_first_purchase,
        cohort_ages.cohort_customers,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        coalesce(cohort_activity.active_customers, 0) / cohort_ages.cohort_customers
            as retention_rate,
        cast(sum(cast(coalesce(cohort_activity.net_revenue, 0) as decimal(38, 10))) over (
            partition by cohort_ages.cohort_month, cohort_ages.channel
            order by cohort_ages.months_since_first_purchase
            rows between unbounded preceding and current row
        ) as double) as cumulative_net_revenue
    from cohort_ages
    left join cohort_activity
        on
            cohort_ages.cohort_month = cohort_activity.cohort_month
            and cohort_ages.channel = cohort_activity.channel
            and cohort_ages.months_since_first_purchase
            = cohort_activity.months_since_first_purchase
)

select
    cast(cohort_month as date) as cohort_month,
    cast(channel as varchar) as channel,
    cast(months_since_first_purchase as integer) as months_since_first_purchase,
    cast(cohort_customers as bigint) as cohort_customers,
    cast(active_customers as bigint) as active_customers,
    cast(retention_rate as double) as retention_rate,
    cast(cumulative_net_revenue as double) as cumulative_net_revenue,
    cast(cumulative_net_revenue / cohort_customers as double) as ltv_per_customer
from final
