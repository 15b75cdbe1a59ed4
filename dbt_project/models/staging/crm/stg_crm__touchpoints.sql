-- One row per marketing touch of a contact (exact duplicates after normalisation are one
-- touch; it keeps its first landing day). Incremental: every touch of the contacts whose
-- touches landed in the batch (or vanished from raw) is restated, so the scope (and the
-- change feed) is per contact.
{{
    config(**restated_config(
        'contact_id',
        change_feed=['contact_id'],
        tombstone_column='touchpoint_id',
    ))
}}
{%- set pending_loads = ref('batch_loads_pending') %}

with

{% if is_incremental() %}
scope as (

    {{ keys_to_restate(pending_loads, source('raw', 'touchpoints'), 'touchpoints',
                       'trim(contact_id)', 'contact_id') }}

),
{% endif %}

source as (

    select * from {{ source('raw', 'touchpoints') }}
    {% if is_incremental() %}
    where trim(contact_id) in (select contact_id from scope)
    {% endif %}

),

renamed as (

    select
        -- ids
        trim(contact_id) as contact_id,
        nullif(trim(campaign_id), '') as campaign_id,

        -- attributes
        lower(trim(channel)) as channel,
        nullif(lower(trim(touch_type)), '') as touch_type,

        -- timestamps
        occurred_at,

        -- lineage
        _partition_date

    from source

),

deduplicated as (

    -- Exact duplicates (after normalisation) are one touch; it keeps its first landing day.
    select *
    from renamed
    qualify row_number() over (
        partition by contact_id, occurred_at, channel, campaign_id, touch_type
        order by _partition_date
    ) = 1

),

final as (

    select
        -- a touch has no id in the source: its normalised content is its identity
        md5(concat_ws(
            '|', contact_id, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f'), channel,
            coalesce(campaign_id, ''), coalesce(touch_type, '')
        )) as touchpoint_id,
        *
    from deduplicated

)

{% if is_incremental() %}
{{ with_tombstones('final', 'scope', 'contact_id') }}
{% else %}
select * from final
{% endif %}
