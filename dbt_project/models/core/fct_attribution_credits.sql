-- Attribution credits per person, conversion (lead, customer), model and credited touch
-- (METRICS 4); the logic is the macro attribution_credits_sql (int_attribution_credits_allocated).
--
-- Incremental: every credit of each person with anything landed in the run window is
-- recomputed (a late touch or conversion changes the whole journey's split), computing
-- only those people from the sources; erased people are deleted by the post-hook.
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='customer_key',
        on_schema_change='fail',
        post_hook=["{{ delete_vanished_people() }}"],
    )
}}
-- The incremental branch reads these through macros; dbt must know them at parse time.
-- depends_on: {{ ref('int_people_changed') }}
-- depends_on: {{ ref('int_people_resolved') }}
-- depends_on: {{ ref('int_touchpoints_resolved') }}
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('stg_crm__lifecycle_events') }}
-- depends_on: {{ ref('stg_shop__orders') }}
-- depends_on: {{ ref('crm_stage_mapping') }}
-- depends_on: {{ ref('funnel_stages') }}

with

{% if is_incremental() %}
changed_stage_entries as (

    {{ stage_entries_sql(people=ref('int_people_changed')) }}

),

credits as (

    {{ attribution_credits_sql('changed_stage_entries', people=ref('int_people_changed')) }}

)
{% else %}
credits as (

    select * from {{ ref('int_attribution_credits_allocated') }}

)
{% endif %}

select
    customer_key,
    conversion_type,
    conversion_at,
    conversion_date,
    attribution_model,
    touch_index,
    channel,
    campaign_id,
    touch_occurred_at,
    credit
from credits
