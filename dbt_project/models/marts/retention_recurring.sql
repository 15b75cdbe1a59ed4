-- Grain: one row per (period_grain, period_start, periods_since, channel): period_grain
-- 'day', 'week' (ISO weeks, from Monday) or 'month' (UTC dates); channel the customers'
-- acquisition channel plus 'all'. Recurring retention (METRICS 5): of the customers with a
-- purchase in period i (every period's buyers, not only first purchasers), those with a
-- purchase in period i + k. Dense in k: every offset from 0 (100%) to the last period that
-- has begun by as_of_date (the as-of period is partial), capped at 90 days and 52 weeks;
-- months run to the as-of month. Rows exist for the periods and channels with buyers.
--
-- A plain table, rebuilt every build: distinct purchase days per customer and a self-join
-- bounded by the caps, small at any scale.

with

customers as (
    select
        customer_key,
        acquisition_channel
    from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

-- the grains and how far each looks ahead (null: up to the as-of period)
period_grains as (
    select
        grains.period_grain,
        grains.max_periods_since
    from (
        values ('day', 90), ('week', 52), ('month', null)
    ) as grains (period_grain, max_periods_since)
),

purchase_days as (
    select distinct
        customer_key,
        order_date
    from orders
    where is_purchase
),

-- each customer's periods with a purchase, with the last period start looked at from there
active_periods as (
    select distinct
        period_grains.period_grain,
        period_grains.max_periods_since,
        purchase_days.customer_key,
        customers.acquisition_channel as channel,
        cast(date_trunc(period_grains.period_grain, purchase_days.order_date) as date)
            as period_start,
        cast(date_trunc(period_grains.period_grain, as_of.as_of_date) as date) as as_of_period_start
    from purchase_days
    inner join customers on purchase_days.customer_key = customers.customer_key
    cross join period_grains
    cross join as_of
),

with_horizon as (
    select
        *,
        cast(case period_grain
            when 'day' then date_diff('day', period_start, as_of_period_start)
            when 'week' then date_diff('day', period_start, as_of_period_start) // 7
            else date_diff('month', period_start, as_of_period_start)
        end as integer) as periods_to_as_of
    from active_periods
    where period_start <= as_of_period_start
),

bounded as (
    select
        *,
        least(periods_to_as_of, coalesce(max_periods_since, periods_to_as_of))
            as last_periods_since
    from with_horizon
),

with_horizon_start as (
    select
        *,
        -- start of the last period looked at: period i + last_periods_since
        case period_grain
            when 'day' then period_start + last_periods_since
            when 'week' then period_start + 7 * last_periods_since
            else cast(period_start + to_months(last_periods_since) as date)
        end as horizon_start
    from bounded
),

-- a customer active in period i and again in period i + k, k within the horizon of i
returns as (
    select
        first_period.period_grain,
        first_period.period_start,
        first_period.channel,
        first_period.customer_key,
        cast(case first_period.period_grain
            when 'day' then date_diff('day', first_period.period_start, later_period.period_start)
            when 'week'
                then date_diff('day', first_period.period_start, later_period.period_start) // 7
            else date_diff('month', first_period.period_start, later_period.period_start)
        end as integer) as periods_since
    from with_horizon_start as first_period
    inner join with_horizon_start as later_period
        on
            first_period.customer_key = later_period.customer_key
            and first_period.period_grain = later_period.period_grain
            and first_period.period_start <= later_period.period_start
            and first_period.horizon_start >= later_period.period_start
),

-- every customer once under their channel and once under 'all'
active_with_all as (
    select
        period_grain,
        period_start,
        channel,
        customer_key,
        last_periods_since
    from bounded
    union all
    select
        period_grain,
        period_start,
        'all' as channel,
        customer_key,
        last_periods_since
    from bounded
),

returns_with_all as (
    select
        period_grain,
        period_start,
        channel,
        customer_key,
        periods_since
    from returns
    union all
    select
        period_grain,
        period_start,
        'all' as channel,
        customer_key,
        periods_since
    from returns
),

active_counts as (
    select
        period_grain,
        period_start,
        channel,
        count(distinct customer_key) as active_customers,
        -- the same for every customer of the period
        max(last_periods_since) as last_periods_since
    from active_with_all
    group by period_grain, period_start, channel
),

retained_counts as (
    select
        period_grain,
        period_start,
        channel,
        periods_since,
        count(distinct customer_key) as retained_customers
    from returns_with_all
    group by period_grain, period_start, channel, periods_since
),

offsets as (
    select
        period_grain,
        period_start,
        channel,
        active_customers,
        cast(unnest(range(0, last_periods_since + 1)) as integer) as periods_since
    from active_counts
),

final as (
    select
        offsets.period_grain,
        offsets.period_start,
        offsets.periods_since,
        offsets.channel,
        offsets.active_customers,
        coalesce(retained_counts.retained_customers, 0) as retained_customers,
        coalesce(retained_counts.retained_customers, 0) / offsets.active_customers
            as retention_rate,
        -- period i + k has fully landed (its last day is at or before as_of_date)
        case offsets.period_grain
            when 'day' then offsets.period_start + offsets.periods_since
            when 'week' then offsets.period_start + 7 * offsets.periods_since + 6
            else last_day(offsets.period_start + to_months(offsets.periods_since))
        end <= as_of.as_of_date as is_period_complete
    from offsets
    cross join as_of
    left join retained_counts
        on
            offsets.period_grain = retained_counts.period_grain
            and offsets.period_start = retained_counts.period_start
            and offsets.channel = retained_counts.channel
            and offsets.periods_since = retained_counts.periods_since
)

select
    cast(period_grain as varchar) as period_grain,
    cast(period_start as date) as period_start,
    cast(periods_since as integer) as periods_since,
    cast(channel as varchar) as channel,
    cast(active_customers as bigint) as active_customers,
    cast(retained_customers as bigint) as retained_customers,
    cast(retention_rate as double) as retention_rate,
    cast(is_period_complete as boolean) as is_period_complete
from final
