-- Grain: one row per (date, channel, stage) with at least one person entering the stage.
-- Conversion is cohort-based: of the people entering a stage on `date`, those who entered
-- the next stage within the conversion window (vars conversion_window_length and
-- conversion_window_unit): calendar_day counts whole UTC dates (day 30 in, day 31 out),
-- hour and minute the elapsed time since the entry (at most the length, inclusive). A cohort
-- day's window is complete when the window of its latest possible entry (the day's end, or
-- the day itself for calendar_day) has closed by the end of as_of_date.
--
-- Incremental: the cohort days restated are every entry day, before and after, of the people
-- whose rows the change feed of fct_funnel_stage names (a new stage row changes the
-- conversions and sales cycle of that person's earlier cohort days), and the days whose
-- conversion window closed since the last build; each is recomputed whole.
{{ config(**restated_config('date', tombstone_column='stage')) }}
{%- set funnel_stage = ref('fct_funnel_stage') %}
{%- set window_span = conversion_window_span() %}
{%- set entry_moment = conversion_entry_moment() %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

{% if is_incremental() %}
scope as (
    {% if has_change_feed(funnel_stage) %}
    select entered_date as date from {{ change_feed(funnel_stage) }}
    union
    select entered_date as date from {{ funnel_stage }}
    where customer_key in (select customer_key from {{ change_feed(funnel_stage) }})
    {% else %}
    select entered_date as date from {{ funnel_stage }}
    union
    select date from {{ this }}
    {% endif %}
    union
    -- cohort days whose conversion window closed since the last build
    select date from {{ this }}
    where
        not is_window_complete
        and cast(date as timestamp) + {{ window_span }}
        <= (select cast(as_of.as_of_date as timestamp) from as_of)
),
{% endif %}

all_stages as (
    select * from {{ funnel_stage }}
),

stages as (
    select * from all_stages
    {% if is_incremental() %}
    where entered_date in (select date from scope)
    {% endif %}
),

funnel_stages as (
    select * from {{ ref('funnel_stages') }}
),

last_stage as (
    select max(stage_order) as last_stage_order from funnel_stages
),

-- the same person's row for the stage that follows, if reached
stage_transitions as (
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
        -- numerics
        epoch(next_stage.entered_at - this_stage.entered_at) / 3600.0 as hours_to_next
    from stages as this_stage
    left join all_stages as next_stage
        on
            this_stage.customer_key = next_stage.customer_key
            and next_stage.stage_order = this_stage.stage_order + 1
),

-- sales cycle, attached to the interest cohort: entry into the lead stage (interest) to entry
-- into the customer stage (purchase), as named by the funnel_stages seed
sales_cycles as (
    select
        interest.customer_key,
        epoch(purchase.entered_at - interest.entered_at) / 86400.0 as days_to_purchase
    from stages as interest
    inner join all_stages as purchase
        on
            interest.customer_key = purchase.customer_key
            and purchase.stage = (
                select funnel_stages.stage from funnel_stages
                where funnel_stages.conversion_type = 'customer'
            )
    where interest.stage = (
        select funnel_stages.stage from funnel_stages
        where funnel_stages.conversion_type = 'lead'
    )
),

aggregated as (
    select
        stage_transitions.entered_date,
        stage_transitions.channel,
        stage_transitions.stage,
        stage_transitions.stage_order,
        count(*) as entered,
        count(*) filter (where stage_transitions.is_converted) as converted_to_next,
        median(stage_transitions.hours_to_next)
        filter (where stage_transitions.is_converted) as median_hours_to_next,
        median(sales_cycles.days_to_purchase) as median_days_to_purchase,
        quantile_cont(sales_cycles.days_to_purchase, 0.9) as p90_days_to_purchase
    from stage_transitions
    left join sales_cycles
        on
            stage_transitions.customer_key = sales_cycles.customer_key
            and stage_transitions.stage
            = (
                select funnel_stages.stage from funnel_stages
                where funnel_stages.conversion_type = 'lead'
            )
    group by all
),

final as (
    select
        -- grain
        aggregated.entered_date as date,
        aggregated.channel,
        aggregated.stage,
        -- numerics
        aggregated.entered,
        case
            when aggregated.stage_order < last_stage.last_stage_order
                then aggregated.converted_to_next
        end as converted_to_next,
        case
            when aggregated.stage_order < last_stage.last_stage_order
                then aggregated.converted_to_next / aggregated.entered
        end as conversion_rate,
        aggregated.median_hours_to_next,
        -- flags: the window of the day's latest entry lies before the end of as_of_date
        cast(aggregated.entered_date as timestamp) + {{ window_span }}
        <= cast(as_of.as_of_date as timestamp) as is_window_complete,
        -- sales cycle
        aggregated.median_days_to_purchase,
        aggregated.p90_days_to_purchase
    from aggregated
    cross join last_stage
    cross join as_of
),

typed as (
    select
        cast(date as date) as date,
        cast(channel as varchar) as channel,
        cast(stage as varchar) as stage,
        cast(entered as bigint) as entered,
        cast(converted_to_next as bigint) as converted_to_next,
        cast(conversion_rate as double) as conversion_rate,
        cast(median_hours_to_next as double) as median_hours_to_next,
        cast(is_window_complete as boolean) as is_window_complete,
        cast(median_days_to_purchase as double) as median_days_to_purchase,
        cast(p90_days_to_purchase as double) as p90_days_to_purchase
    from final
)

{% if is_incremental() %}
{{ with_tombstones('typed', 'scope', 'date') }}
{% else %}
select * from typed
{% endif %}
