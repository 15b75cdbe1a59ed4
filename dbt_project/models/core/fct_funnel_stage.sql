-- One row per person and funnel stage reached (METRICS 3).
--
-- Skipped stages (decided rule): with raw_entry(j) the first occurrence of stage j, every
-- stage j up to the highest stage reached gets
--   entered_at(j) = least(raw_entry(j), min over later stages i > j of raw_entry(i))
--   is_skipped(j) = raw_entry(j) is null or raw_entry(j) > min over i > j of raw_entry(i)
-- i.e. a person who reaches a stage without the ones before it passed them at that same
-- moment, so entered_at never decreases along the funnel.
--
-- Incremental: every row of the people in int_people_changed is restated; the change feed
-- records the people and entry days of the rows that changed, for funnel_daily (a person's
-- new stage row changes the conversion of their earlier stages' cohort days).
{{
    config(**restated_config(
        'customer_key',
        scope='int_people_changed',
        change_feed=['customer_key', 'entered_date'],
    ))
}}
{%- set people_changed = ref('int_people_changed') %}

with

stage_entries as (

    select
        customer_key,
        stage,
        first_occurred_at
    from {{ ref('int_stage_events_unioned') }}
    where {{ people_changed_filter(people_changed) }}

),

stages as (

    select
        stage,
        stage_order
    from {{ ref('funnel_stages') }}

),

highest_stages as (

    select
        stage_entries.customer_key,
        max(stages.stage_order) as highest_stage_order
    from stage_entries
    inner join stages on stage_entries.stage = stages.stage
    group by stage_entries.customer_key

),

stage_grid as (

    -- every stage up to the highest one reached, with its raw entry when it has one
    select
        highest_stages.customer_key,
        stages.stage,
        stages.stage_order,
        stage_entries.first_occurred_at as raw_entered_at
    from highest_stages
    inner join stages on highest_stages.highest_stage_order >= stages.stage_order
    left join stage_entries
        on
            highest_stages.customer_key = stage_entries.customer_key
            and stages.stage = stage_entries.stage

),

with_later_entries as (

    select
        *,
        min(raw_entered_at) over (
            partition by customer_key
            order by stage_order desc
            rows between unbounded preceding and 1 preceding
        ) as first_later_entered_at
    from stage_grid

),

entered as (

    select
        customer_key,
        stage,
        stage_order,
        least(raw_entered_at, first_later_entered_at) as entered_at,
        raw_entered_at is null or raw_entered_at > first_later_entered_at as is_skipped
    from with_later_entries

),

with_previous as (

    select
        *,
        lag(stage) over person_stages as previous_stage,
        lag(entered_at) over person_stages as previous_stage_entered_at
    from entered
    window person_stages as (partition by customer_key order by stage_order)

),

people as (

    select
        customer_key,
        acquisition_channel
    from {{ ref('int_people_resolved') }}
    where {{ people_changed_filter(people_changed) }}

)

select
    with_previous.customer_key,
    with_previous.stage,
    cast(with_previous.stage_order as integer) as stage_order,
    with_previous.entered_at,
    cast(with_previous.entered_at as date) as entered_date,
    coalesce(with_previous.is_skipped, false) as is_skipped,
    with_previous.previous_stage,
    with_previous.previous_stage_entered_at,
    (epoch(with_previous.entered_at) - epoch(with_previous.previous_stage_entered_at)) / 3600.0
        as hours_in_previous_stage,
    coalesce(people.acquisition_channel, 'direct') as acquisition_channel
from with_previous
left join people on with_previous.customer_key = people.customer_key
