-- Grain: one row per (cohort_month, channel), dense: every month from the first spend or
-- first purchase to the as-of month, every channel of the `channels` seed plus 'all'
-- (blended: all paid spend over all new customers of the month).
-- new_customers counts people by acquisition channel (first touch), unlike cac_daily,
-- which counts attribution credits.
-- Repeat purchase (METRICS 5): the share of those customers whose second purchase came at
-- most repeat_window_days calendar days after the first (day 365 in, day 366 out); the
-- window of the cohort is complete once that many days have passed since the month's last
-- day, by as_of_date.

with

spend as (
    select * from {{ ref('fct_ad_spend_daily') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

second_purchases as (
    select
        customer_key,
        order_date as second_purchase_date
    from {{ ref('fct_orders') }}
    where purchase_number = 2
),

ltv as (
    select * from {{ ref('ltv_cohorts') }}
),

channels as (
    select channel from {{ ref('channels') }}
),

as_of as (
    select
        as_of_date,
        cast(date_trunc('month', as_of_date) as date) as as_of_month
    from {{ ref('int_as_of_date') }}
),

first_months as (
    select min(cast(date_trunc('month', spend_date) as date)) as first_month from spend
    union all
    select min(cohort_month) as first_month from customers
),

month_spine as (
    select cast(unnest(generate_series(
        (select min(first_month) from first_months),
        (select as_of_month from as_of),
        interval 1 month
    )) as date) as cohort_month
),

all_channels as (
    select channel from channels
    union all
    select 'all' as channel
),

spend_with_month as (
    select
        cast(date_trunc('month', spend_date) as date) as spend_month,
        channel,
        spend_reporting
    from spend
),

spend_by_month as (
    select
        spend_month as cohort_month,
        channel,
        {{ exact_sum('spend_reporting') }} as spend
    from spend_with_month
    group by all
    union all
    select
        spend_month as cohort_month,
        'all' as channel,
        {{ exact_sum('spend_reporting') }} as spend
    from spend_with_month
    group by all
),

new_customers_by_month as (
    select
        cohort_month,
        acquisition_channel as channel,
        count(*) as new_customers
    from customers
    group by all
    union all
    select
        cohort_month,
        'all' as channel,
        count(*) as new_customers
    from customers
    group by all
),

repeat_customers as (
    select
        customers.cohort_month,
        customers.acquisition_channel,
        date_diff(
            'day', customers.first_purchase_date, second_purchases.second_purchase_date
        ) <= {{ setting_int('repeat_window_days') }} as is_repeat_customer
    from customers
    left join second_purchases on customers.customer_key = second_purchases.customer_key
),

repeat_customers_by_month as (
    select
        cohort_month,
        acquisition_channel as channel,
        count(*) filter (where is_repeat_customer) as repeat_customers
    from repeat_customers
    group by all
    union all
    select
        cohort_month,
        'all' as channel,
        count(*) filter (where is_repeat_customer) as repeat_customers
    from repeat_customers
    group by all
),

economics as (
    select
        month_spine.cohort_month,
        all_channels.channel,
        coalesce(spend_by_month.spend, 0) as spend,
        coalesce(new_customers_by_month.new_customers, 0) as new_customers,
        coalesce(spend_by_month.spend, 0)
        / nullif(coalesce(new_customers_by_month.new_customers, 0), 0) as cac,
        -- LTV is read at 12 months, or at the cohort's age so far when younger
        least(12, date_diff('month', month_spine.cohort_month, as_of.as_of_month))
            as ltv_months_observed,
        -- month cohort+12 is over only once its last day has landed
        as_of.as_of_date >= last_day(month_spine.cohort_month + interval 12 month)
            as is_ltv_12m_complete,
        coalesce(repeat_customers_by_month.repeat_customers, 0)
        / nullif(coalesce(new_customers_by_month.new_customers, 0), 0) as repeat_purchase_rate,
        -- the window of the month's last first purchase has closed
        last_day(month_spine.cohort_month) + {{ setting_int('repeat_window_days') }}
        <= as_of.as_of_date as is_repeat_window_complete
    from month_spine
    cross join all_channels
    cross join as_of
    left join spend_by_month
        on
            month_spine.cohort_month = spend_by_month.cohort_month
            and all_channels.channel = spend_by_month.channel
    left join new_customers_by_month
        on
            month_spine.cohort_month = new_customers_by_month.cohort_month
            and all_channels.channel = new_customers_by_month.channel
    left join repeat_customers_by_month
        on
            month_spine.cohort_month = repeat_customers_by_month.cohort_month
            and all_channels.channel = repeat_customers_by_month.channel
),

-- first age at which cumulative margin per customer reaches CAC (any age, not only <= 12)
payback as (
    select
        economics.cohort_month,
        economics.channel,
        min(ltv.months_since_first_purchase) as payback_months
    from economics
    inner join ltv
        on
            economics.cohort_month = ltv.cohort_month
            and economics.channel = ltv.channel
    where ltv.ltv_per_customer * {{ setting_decimal('gross_margin') }} >= economics.cac
    group by all
),

final as (
    select
        economics.cohort_month,
        economics.channel,
        economics.spend,
        economics.new_customers,
        economics.cac,
        ltv.ltv_per_customer as ltv_12m,
        economics.ltv_months_observed,
        economics.is_ltv_12m_complete,
        ltv.ltv_per_customer * {{ setting_decimal('gross_margin') }} / nullif(economics.cac, 0)
            as ltv_to_cac,
        payback.payback_months,
        economics.repeat_purchase_rate,
        economics.is_repeat_window_complete
    from economics
    left join ltv
        on
            economics.cohort_month = ltv.cohort_month
            and economics.channel = ltv.channel
            and economics.ltv_months_observed = ltv.months_since_first_purchase
    left join payback
        on
            economics.cohort_month = payback.cohort_month
            and economics.channel = payback.channel
)

select
    cast(cohort_month as date) as cohort_month,
    cast(channel as varchar) as channel,
    cast(spend as double) as spend,
    cast(new_customers as bigint) as new_customers,
    cast(cac as double) as cac,
    cast(ltv_12m as double) as ltv_12m,
    cast(ltv_months_observed as integer) as ltv_months_observed,
    cast(is_ltv_12m_complete as boolean) as is_ltv_12m_complete,
    cast(ltv_to_cac as double) as ltv_to_cac,
    cast(payback_months as integer) as payback_months,
    cast(repeat_purchase_rate as double) as repeat_purchase_rate,
    cast(is_repeat_window_complete as boolean) as is_repeat_window_complete
from final
