-- One row per person and conversion (METRICS 4): the moment the person entered a stage
-- whose `conversion_type` is set in the funnel_stages seed (interest: lead, purchase:
-- customer), under the skipped-stage rule of fct_funnel_stage: the earliest first
-- occurrence of that stage or any later one. A shop customer with no CRM record is
-- therefore a lead at their first purchase.
-- Incremental: the rows of int_people_changed are restated.
{{ config(**restated_config('customer_key', scope='int_people_changed')) }}
{%- set people_changed = ref('int_people_changed') %}

with

stage_entries as (

    select * from {{ ref('int_stage_events_unioned') }}
    where {{ people_changed_filter(people_changed) }}

),

conversion_stages as (

    select
        stage_order,
        conversion_type
    from {{ ref('funnel_stages') }}
    where conversion_type is not null

)

select
    stage_entries.customer_key,
    conversion_stages.conversion_type,
    min(stage_entries.first_occurred_at) as conversion_at
from stage_entries
inner join conversion_stages on stage_entries.stage_order >= conversion_stages.stage_order
group by stage_entries.customer_key, conversion_stages.conversion_type
