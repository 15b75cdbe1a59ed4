-- First occurrence of each funnel stage per person (METRICS 3), before the skipped-stage
-- fill of fct_funnel_stage. How a stage is reached is the `reached_by` column of the
-- funnel_stages seed:
--   first_touchpoint   the person's first touchpoint
--   contact_created    a contact of the person is created (the lead moment)
--   crm_stage          the first CRM event of a CRM stage that crm_stage_mapping maps to it
--                      (going back to an earlier CRM stage does not re-enter it)
--   first_purchase     the first purchase (paid or refunded order)
--   second_purchase    the second purchase
-- Incremental: the rows of int_people_changed are restated.
{{ config(**restated_config('customer_key', scope='int_people_changed')) }}
{%- set people_changed = ref('int_people_changed') %}

with

stages as (

    select * from {{ ref('funnel_stages') }}

),

first_touchpoints as (

    select
        customer_key,
        'first_touchpoint' as reached_by,
        min(occurred_at) as occurred_at
    from {{ ref('int_touchpoints_resolved') }}
    where {{ people_changed_filter(people_changed) }}
    group by customer_key

),

contacts_created as (

    select
        customer_key,
        'contact_created' as reached_by,
        min(created_at) as occurred_at
    from {{ ref('stg_crm__contacts') }}
    where {{ people_changed_filter(people_changed) }}
    group by customer_key

),

purchases as (

    select
        customer_key,
        case purchase_number
            when 1 then 'first_purchase'
            else 'second_purchase'
        end as reached_by,
        ordered_at as occurred_at
    from (
        select
            customer_key,
            ordered_at,
            row_number() over (partition by customer_key order by ordered_at, order_id)
                as purchase_number
        from {{ ref('stg_shop__orders') }}
        where is_purchase and {{ people_changed_filter(people_changed) }}
    )
    where purchase_number <= 2

),

events_by_rule as (

    select * from first_touchpoints
    union all
    select * from contacts_created
    union all
    select * from purchases

),

crm_stage_events as (

    select
        contacts.customer_key,
        lower(trim(stage_mapping.funnel_stage)) as stage,
        min(events.occurred_at) as occurred_at
    from {{ ref('stg_crm__lifecycle_events') }} as events
    inner join {{ ref('stg_crm__contacts') }} as contacts
        on events.contact_id = contacts.contact_id
    inner join {{ ref('crm_stage_mapping') }} as stage_mapping
        on lower(trim(stage_mapping.crm_stage)) = events.crm_stage
    where {{ people_changed_filter(people_changed, 'contacts.customer_key') }}
    group by contacts.customer_key, lower(trim(stage_mapping.funnel_stage))

),

occurrences as (

    select
        events_by_rule.customer_key,
        stages.stage,
        events_by_rule.occurred_at
    from events_by_rule
    inner join stages on events_by_rule.reached_by = stages.reached_by

    union all

    select
        crm_stage_events.customer_key,
        stages.stage,
        crm_stage_events.occurred_at
    from crm_stage_events
    inner join stages
        on crm_stage_events.stage = stages.stage and stages.reached_by = 'crm_stage'

)

select
    occurrences.customer_key,
    occurrences.stage,
    stages.stage_order,
    min(occurrences.occurred_at) as first_occurred_at
from occurrences
inner join stages on occurrences.stage = stages.stage
group by occurrences.customer_key, occurrences.stage, stages.stage_order
