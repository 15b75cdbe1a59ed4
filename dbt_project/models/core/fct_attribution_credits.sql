-- Attribution credits (METRICS 4): for each person's conversion (lead, customer), the credit
-- each touch at or before the conversion gets under each model of the attribution_models
-- seed; credits of one person, conversion and model sum to 1. Only touches with a non-zero
-- credit get a row; a conversion without any touch is one `direct` row (touch_index 0) with
-- credit 1. The journeys and their weights are int_conversion_touches_weighted.
--
-- Incremental: every row of the people in int_people_changed is restated; the change feed
-- records the (conversion_date, channel, attribution_model) groups that changed, for cac_daily.
{{
    config(**restated_config(
        'customer_key',
        scope='int_people_changed',
        change_feed=['conversion_date', 'channel', 'attribution_model'],
    ))
}}
{%- set people_changed = ref('int_people_changed') %}
{%- set first_share = setting_decimal('position_based_first') %}
{%- set last_share = setting_decimal('position_based_last') %}

with

models as (

    select attribution_model from {{ ref('attribution_models') }}

),

conversions as (

    select * from {{ ref('int_conversions_identified') }}
    where {{ people_changed_filter(people_changed) }}

),

touches as (

    select * from {{ ref('int_conversion_touches_weighted') }}
    where {{ people_changed_filter(people_changed) }}

),

credited as (

    select
        customer_key,
        conversion_type,
        conversion_at,
        touch_index,
        channel,
        campaign_id,
        touch_occurred_at,
        cast(touch_index = 1 as double) as first_touch,
        cast(touch_index = touch_count as double) as last_touch,
        1.0 / touch_count as linear,
        -- shares are decimal so that e.g. 1 - 0.4 - 0.4 is exactly 0.2
        case
            when touch_count = 1 then 1.0
            when touch_count = 2 and touch_index = 1
                then cast({{ first_share }} / ({{ first_share }} + {{ last_share }}) as double)
            when touch_count = 2
                then cast({{ last_share }} / ({{ first_share }} + {{ last_share }}) as double)
            when touch_index = 1 then cast({{ first_share }} as double)
            when touch_index = touch_count then cast({{ last_share }} as double)
            else cast(1 - {{ first_share }} - {{ last_share }} as double) / (touch_count - 2)
        end as position_based,
        decay_weight / total_decay_weight as time_decay
    from touches

),

touch_credits as (

    unpivot credited
    on first_touch, last_touch, linear, position_based, time_decay
    into name attribution_model value credit

),

untouched_credits as (

    select
        conversions.customer_key,
        conversions.conversion_type,
        conversions.conversion_at,
        0 as touch_index,
        'direct' as channel,
        cast(null as varchar) as campaign_id,
        cast(null as timestamp) as touch_occurred_at,
        models.attribution_model,
        1.0 as credit
    from conversions
    cross join models
    where not exists (
        select 1
        from touches
        where
            touches.customer_key = conversions.customer_key
            and touches.conversion_type = conversions.conversion_type
    )

),

unioned as (

    select
        customer_key,
        conversion_type,
        conversion_at,
        touch_index,
        channel,
        campaign_id,
        touch_occurred_at,
        attribution_model,
        cast(credit as double) as credit
    from touch_credits
    where
        credit > 0
        and attribution_model in (select models.attribution_model from models)

    union all

    select
        customer_key,
        conversion_type,
        conversion_at,
        touch_index,
        channel,
        campaign_id,
        touch_occurred_at,
        attribution_model,
        cast(credit as double) as credit
    from untouched_credits

)

select
    customer_key,
    conversion_type,
    conversion_at,
    cast(conversion_at as date) as conversion_date,
    attribution_model,
    cast(touch_index as integer) as touch_index,
    channel,
    campaign_id,
    touch_occurred_at,
    credit
from unioned
