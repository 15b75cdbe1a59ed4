-- One row per CRM contact: its latest version. Incremental: the contacts whose versions
-- landed in the batch (or vanished from raw) are restated.
-- A table, not a view: customer_key() is a TEMP macro that exists only on dbt's own
-- connections, so a view calling it could not be read from any other connection.
{{
    config(**restated_config(
        'contact_id',
        change_feed=['contact_id', 'customer_key'],
        tombstone_column='customer_key',
    ))
}}
{%- set pending_loads = ref('batch_loads_pending') %}

with

{% if is_incremental() %}
scope as (

    {{ keys_to_restate(pending_loads, source('raw', 'contacts'), 'contacts',
                       'trim(contact_id)', 'contact_id') }}

),
{% endif %}

source as (

    select * from {{ source('raw', 'contacts') }}
    {% if is_incremental() %}
    where trim(contact_id) in (select contact_id from scope)
    {% endif %}

),

latest_versions as (

    -- One row per contact: the latest updated_at wins; ties (exact duplicates, an update
    -- landed twice) go to the row landed last.
    select *
    from source
    qualify row_number() over (
        partition by trim(contact_id)
        order by
            updated_at desc, _partition_date desc, _loaded_at desc, _source_file desc,
            _source_line desc
    ) = 1

),

renamed as (

    select
        -- ids
        trim(contact_id) as contact_id,
        customer_key(email) as customer_key,

        -- attributes (email and full_name stop here: no PII after staging)
        nullif(upper(trim(country)), '') as country,
        marketing_consent,

        -- timestamps
        created_at,
        updated_at,

        -- lineage
        _partition_date

    from latest_versions

)

{% if is_incremental() %}
{{ with_tombstones('renamed', 'scope', 'contact_id') }}
{% else %}
select * from renamed
{% endif %}
