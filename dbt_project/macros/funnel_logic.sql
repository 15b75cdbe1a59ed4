{#
    The funnel's person-level logic as SQL generators, so one definition serves both the
    intermediate models (everyone) and the incremental core models, which pass `people` (a
    relation with a customer_key column) to filter every source at the scan, before any
    aggregation: a daily run then computes only the people it must recompute.
#}

{% macro only_people(people, column='customer_key') -%}
    {%- if people is not none %} and {{ column }} in (select customer_key from {{ people }}){% endif -%}
{%- endmacro %}


{#
    First occurrence of each funnel stage per person (METRICS 3), before skipped-stage fill:
      awareness      first touchpoint
      interest       contact created
      CRM stages     first lifecycle event of a CRM stage mapped by the crm_stage_mapping
                     seed (going back to an earlier CRM stage does not re-enter it)
      purchase       first purchase (paid or refunded order); loyalty: second purchase
    Columns: customer_key, stage, stage_order, first_occurred_at.
#}
{% macro stage_entries_sql(people=none) %}
with

touchpoints as (

    select customer_key, 'awareness' as stage, min(occurred_at) as occurred_at
    from {{ ref('int_touchpoints_resolved') }}
    where true {{ only_people(people) }}
    group by customer_key

),

contacts_created as (

    select customer_key, 'interest' as stage, min(created_at) as occurred_at
    from {{ ref('stg_crm__contacts') }}
    where true {{ only_people(people) }}
    group by customer_key

),

crm_stages as (

    select
        contacts.customer_key,
        lower(trim(mapping.funnel_stage)) as stage,
        min(events.occurred_at) as occurred_at
    from {{ ref('stg_crm__lifecycle_events') }} as events
    inner join {{ ref('stg_crm__contacts') }} as contacts
        on contacts.contact_id = events.contact_id
    inner join {{ ref('crm_stage_mapping') }} as mapping
        on lower(trim(mapping.crm_stage)) = events.crm_stage
    where true {{ only_people(people, 'contacts.customer_key') }}
    group by all

),

purchases as (

    select
        customer_key,
        case purchase_number when 1 then 'purchase' else 'loyalty' end as stage,
        ordered_at as occurred_at
    from (
        -- a refunded order is a purchase whose revenue a refund removes
        select
            customer_key,
            ordered_at,
            row_number() over (partition by customer_key order by ordered_at, order_id)
                as purchase_number
        from {{ ref('stg_shop__orders') }}
        where status in ('paid', 'refunded') {{ only_people(people) }}
    )
    where purchase_number <= 2

),

unioned as (

    select * from touchpoints
    union all
    select * from contacts_created
    union all
    select * from crm_stages
    union all
    select * from purchases

)

select
    unioned.customer_key,
    unioned.stage,
    stages.stage_order,
    min(unioned.occurred_at) as first_occurred_at
from unioned
inner join {{ ref('funnel_stages') }} as stages on stages.stage = unioned.stage
group by all
{% endmacro %}


{#
    Attribution credits (METRICS 4): for each person's conversion, credit spread over that
    person's touchpoints up to the conversion moment, by five models. Credits of one person,
    conversion and model sum to 1; a conversion without any touch is one `direct` row
    (touch_index 0) with credit 1. Only touches with a non-zero credit get a row.

    Conversions (same moments as fct_funnel_stage):
      lead      entry into `interest`: contact creation, or the earlier moment a later stage
                was reached (then interest is skipped and entered at that moment)
      customer  entry into `purchase`: the first purchase
    `stage_entries`: a relation or CTE shaped like int_stage_events_unioned.
#}
{% macro attribution_credits_sql(stage_entries, people=none) %}
{% set first_share = setting_decimal('position_based_first') %}
{% set last_share = setting_decimal('position_based_last') %}

with

stages as (

    select stage, stage_order from {{ ref('funnel_stages') }}

),

stage_entries as (

    select * from {{ stage_entries }}

),

conversions as (

    select
        stage_entries.customer_key,
        'lead' as conversion_type,
        min(stage_entries.first_occurred_at) as conversion_at
    from stage_entries
    where stage_entries.stage_order >= (select stage_order from stages where stage = 'interest')
    group by stage_entries.customer_key

    union all

    select customer_key, 'customer' as conversion_type, first_occurred_at as conversion_at
    from stage_entries
    where stage = 'purchase'

),

touches as (

    select
        conversions.customer_key,
        conversions.conversion_type,
        conversions.conversion_at,
        touchpoints.channel,
        touchpoints.campaign_id,
        touchpoints.occurred_at as touch_occurred_at,
        row_number() over journey as touch_index,
        count(*) over (partition by conversions.customer_key, conversions.conversion_type)
            as touch_count,
        (epoch(conversions.conversion_at) - epoch(touchpoints.occurred_at)) / 86400.0
            as days_before_conversion
    from conversions
    inner join {{ ref('int_touchpoints_resolved') }} as touchpoints
        on touchpoints.customer_key = conversions.customer_key
        and touchpoints.occurred_at <= conversions.conversion_at
        {{ only_people(people, 'touchpoints.customer_key') }}
    window journey as (
        partition by conversions.customer_key, conversions.conversion_type
        order by touchpoints.occurred_at, touchpoints.touchpoint_id
    )

),

weighted as (

    select
        *,
        -- time decay: weight 0.5^(days / half-life), taken relative to the touch nearest
        -- the conversion so that very old journeys do not underflow to zero
        pow(
            0.5,
            (days_before_conversion - min(days_before_conversion) over conversion)
            / {{ setting_decimal('time_decay_half_life_days') }}
        ) as decay_weight
    from touches
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
    from weighted
    inner join decay_totals using (customer_key, conversion_type)

),

touch_credits as (

    unpivot credited
    on first_touch, last_touch, linear, position_based, time_decay
    into name attribution_model value credit

),

models as (

    select unnest(['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'])
        as attribution_model

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
        where touches.customer_key = conversions.customer_key
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
    where credit > 0

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
{% endmacro %}
