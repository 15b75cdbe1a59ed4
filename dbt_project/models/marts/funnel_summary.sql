-- Grain: one row per (period_grain, period_start, channel, stage) with at least one person
-- entering the stage in the period: period_grain 'week' (ISO weeks, from Monday) or 'month',
-- channel each acquisition channel plus 'all'. The funnel_daily cohorts, pooled over a
-- period: of the people entering a stage in the period, those who entered the next stage
-- within the conversion window; medians and p90s are taken over those people, never over
-- daily medians. On the first stage's rows, the overall conversion: of the people entering
-- the first stage in the period, those who entered the purchase stage (the seed's
-- conversion_type 'customer') within the conversion window of that first entry.
--
-- The conversion window (vars conversion_window_length and conversion_window_unit) is the
-- one of funnel_daily: macros conversion_window_span and conversion_entry_moment.
--
-- A plain table, rebuilt every build: one pass over fct_funnel_stage (a hash join with the
-- next stage and grouped quantiles), a few seconds at a million people.
{%- set window_span = conversion_window_span() %}
{%- set entry_moment = conversion_entry_moment() %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

stages as (
    select * from {{ ref('fct_funnel_stage') }}
),

funnel_stages as (
    select * from {{ ref('funnel_stages') }}
),

stage_bounds as (
    select
        min(stage_order) as first_stage_order,
        max(stage_order) as last_stage_order,
        min(stage_order) filter (where conversion_type = 'customer') as purchase_stage_order
    from funnel_stages
),

period_grains as (
    select grains.period_grain from (values ('week'), ('month')) as grains (period_grain)
),

-- each person's entry into a stage, with the next stage's entry and, on the first stage,
-- the purchase stage's entry
transitions as (
    select
        -- ids
        this_stage.customer_key,
        this_stage.stage,
        this_stage.stage_order,
        this_stage.acquisition_channel as channel,
        -- dates
        this_stage.entered_date,
        -- flags
        next_stage.customer_key is not null
        and next_stage.{{ entry_moment }}
        <= this_stage.{{ entry_moment }} + {{ window_span }} as is_converted,
        purchase_stage.customer_key is not null
        and purchase_stage.{{ entry_moment }}
        <= this_stage.{{ entry_moment }} + {{ window_span }} as is_purchased_in_window,
        -- numerics
        epoch(next_stage.entered_at - this_stage.entered_at) / 3600.0 as hours_to_next
    from stages as this_stage
    cross join stage_bounds
    left join stages as next_stage
        on
            this_stage.customer_key = next_stage.customer_key
            and next_stage.stage_order = this_stage.stage_order + 1
    left join stages as purchase_stage
        on
            this_stage.customer_key = purchase_stage.customer_key
            and this_stage.stage_order = stage_bounds.first_stage_order
            and stage_bounds.purchase_stage_order = purchase_stage.stage_order
),

in_periods as (
    select
        period_grains.period_grain,
        cast(date_trunc(period_grains.period_grain, transitions.entered_date) as date)
            as period_start,
        transitions.channel,
        transitions.stage,
        transitions.stage_order,
        transitions.is_converted,
        transitions.is_purchased_in_window,
        transitions.hours_to_next
    from transitions
    cross join period_grains
),

-- every person once under their channel and once under 'all'
with_all_channels as (
    select * from in_periods
    union all
    select
        period_grain,
        period_start,
        'all' as channel,
        stage,
        stage_order,
        is_converted,
        is_purchased_in_window,
        hours_to_next
    from in_periods
),

aggregated as (
    select
        period_grain,
        period_start,
        channel,
        stage,
        stage_order,
        count(*) as entered,
        count(*) filter (where is_converted) as converted_to_next,
        median(hours_to_next) filter (where is_converted) as median_hours_to_next,
        quantile_cont(hours_to_next, 0.9) filter (where is_converted) as p90_hours_to_next,
        count(*) filter (where is_purchased_in_window) as purchased_in_window
    from with_all_channels
    group by period_grain, period_start, channel, stage, stage_order
),

final as (
    select
        -- grain
        aggregated.period_grain,
        aggregated.period_start,
        aggregated.channel,
        aggregated.stage,
        aggregated.stage_order,
        -- numerics
        aggregated.entered,
        case
            when aggregated.stage_order < stage_bounds.last_stage_order
                then aggregated.converted_to_next
        end as converted_to_next,
        case
            when aggregated.stage_order < stage_bounds.last_stage_order
                then aggregated.converted_to_next / aggregated.entered
        end as conversion_rate,
        aggregated.median_hours_to_next,
        aggregated.p90_hours_to_next,
        case
            when aggregated.stage_order = stage_bounds.first_stage_order
                then aggregated.purchased_in_window / aggregated.entered
        end as overall_conversion_to_purchase,
        -- flags: the window of the period's latest possible entry (its last day) lies before
        -- the end of as_of_date
        cast(
            case
                when aggregated.period_grain = 'week' then aggregated.period_start + 6
                else last_day(aggregated.period_start)
            end as timestamp
        ) + {{ window_span }}
        <= cast(as_of.as_of_date as timestamp) as is_window_complete
    from aggregated
    cross join stage_bounds
    cross join as_of
)

select
    cast(period_grain as varchar) as period_grain,
    cast(period_start as date) as period_start,
    cast(channel as varchar) as channel,
    cast(stage as varchar) as stage,
    cast(stage_order as integer) as stage_order,
    cast(entered as bigint) as entered,
    cast(converted_to_next as bigint) as converted_to_next,
    cast(conversion_rate as double) as conversion_rate,
    cast(median_hours_to_next as double) as median_hours_to_next,
    cast(p90_hours_to_next as double) as p90_hours_to_next,
    cast(overall_conversion_to_purchase as double) as overall_conversion_to_purchase,
    cast(is_window_complete as boolean) as is_window_complete
from final
