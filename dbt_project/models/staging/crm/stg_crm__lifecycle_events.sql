-- One row per CRM stage change (exact duplicates after normalisation are one event; it keeps
-- its first landing day). Incremental: every event of the contacts whose events landed in the
-- batch (or vanished from raw) is restated, so the scope (and the change feed) is per contact.
{{
    config(**restated_config(
        'contact_id',
        change_feed=['contact_id'],
        tombstone_column='crm_stage',
    ))
}}
{%- set pending_loads = ref('batch_loads_pending') %}

with

{% if is_incremental() %}
scope as (

    {{ keys_to_restate(pending_loads, source('raw', 'lifecycle_events'), 'lifecycle_events',
                       'trim(contact_id)', 'contact_id') }}

),
{% endif %}

source as (

    select * from {{ source('raw', 'lifecycle_events') }}
    {% if is_incremental() %}
    where trim(contact_id) in (select contact_id from scope)
    {% endif %}

),

renamed as (

    select
        -- ids
        trim(contact_id) as contact_id,

        -- attributes
        lower(trim(crm_stage)) as crm_stage,

        -- timestamps
        occurred_at,

        -- lineage
        _partition_date

    from source

),

deduplicated as (

    -- Exact duplicates (after normalisation) are one event; it keeps its first landing day.
    select *
    from renamed
    qualify row_number() over (
        partition by contact_id, crm_stage, occurred_at
        order by _partition_date
    ) = 1

)

{% if is_incremental() %}
{{ with_tombstones('deduplicated', 'scope', 'contact_id') }}
{% else %}
select * from deduplicated
{% endif %}
