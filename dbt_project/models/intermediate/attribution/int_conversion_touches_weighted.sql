-- The journey behind each conversion (METRICS 4): one row per conversion and touchpoint of
-- the person at or before the conversion moment, in time order (ties by touchpoint_id), with
-- what the attribution models weigh: position (touch_index of touch_count) and the time-decay
-- weight 0.5^(days before conversion / time_decay_half_life_days), taken relative to the touch
-- nearest the conversion so that very old journeys do not underflow to zero.
-- Incremental: the rows of int_people_changed are restated.
{{ config(**restated_config('customer_key', scope='int_people_changed')) }}
{%- set people_changed = ref('int_people_changed') %}

with

conversions as (

    select * from {{ ref('int_conversions_identified') }}
    where {{ people_changed_filter(people_changed) }}

),

touchpoints as (

    select * from {{ ref('int_touchpoints_resolved') }}
    where {{ people_changed_filter(people_changed) }}

),

journeys as (

    select
        conversions.customer_key,
        conversions.conversion_type,
        conversions.conversion_at,
        touchpoints.touchpoint_id,
        touchpoints.channel,
        touchpoints.campaign_id,
        touchpoints.occurred_at as touch_occurred_at,
        row_number() over journey as touch_index,
        count(*) over (partition by conversions.customer_key, conversions.conversion_type)
            as touch_count,
        (epoch(conversions.conversion_at) - epoch(touchpoints.occurred_at)) / 86400.0
            as days_before_conversion
    from conversions
    inner join touchpoints
        on
            conversions.customer_key = touchpoints.customer_key
            and conversions.conversion_at >= touchpoints.occurred_at
    window journey as (
        partition by conversions.customer_key, conversions.conversion_type
        order by touchpoints.occurred_at, touchpoints.touchpoint_id
    )

),

weighted as (

    select
        *,
        pow(
            0.5,
            (days_before_conversion - min(days_before_conversion) over conversion)
            / {{ setting_decimal('time_decay_half_life_days') }}
        ) as decay_weight
    from journeys
    window conversion as (partition by customer_key, conversion_type)

),

decay_totals as (

    -- summed in journey order: a parallel sum() over doubles is not bit-reproducible
    select
        customer_key,
        conversion_type,
        list_sum(list(decay_weight order by touch_index)) as total_decay_weight
    from weighted
    group by customer_key, conversion_type

)

select
    weighted.customer_key,
    weighted.conversion_type,
    weighted.conversion_at,
    cast(weighted.touch_index as integer) as touch_index,
    cast(weighted.touch_count as integer) as touch_count,
    weighted.touchpoint_id,
    weighted.channel,
    weighted.campaign_id,
    weighted.touch_occurred_at,
    weighted.days_before_conversion,
    weighted.decay_weight,
    decay_totals.total_decay_weight
from weighted
inner join decay_totals
    on
        weighted.customer_key = decay_totals.customer_key
        and weighted.conversion_type = decay_totals.conversion_type
