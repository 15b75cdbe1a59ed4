-- One row per refund: its latest landed version. Incremental: the refunds whose versions
-- landed in the batch (or vanished from raw) are restated; the change feed records the orders
-- they belong to, before and after.
{{
    config(**restated_config(
        'refund_id',
        change_feed=['refund_id', 'order_id'],
        tombstone_column='order_id',
    ))
}}
{%- set pending_loads = ref('batch_loads_pending') %}

with

{% if is_incremental() %}
scope as (

    {{ keys_to_restate(pending_loads, source('raw', 'refunds'), 'refunds',
                       'trim(refund_id)', 'refund_id') }}

),
{% endif %}

source as (

    select * from {{ source('raw', 'refunds') }}
    {% if is_incremental() %}
    where trim(refund_id) in (select refund_id from scope)
    {% endif %}

),

latest_versions as (

    -- One row per refund: exact duplicates collapse; a re-sent refund replaces the earlier.
    select *
    from source
    qualify row_number() over (
        partition by trim(refund_id)
        order by _partition_date desc, _loaded_at desc, _source_file desc, _source_line desc
    ) = 1

),

renamed as (

    select
        -- ids
        trim(refund_id) as refund_id,
        trim(order_id) as order_id,

        -- attributes
        upper(trim(currency)) as currency,

        -- numerics
        amount,

        -- timestamps
        refunded_at,
        cast(refunded_at as date) as refund_date,

        -- lineage
        _partition_date

    from latest_versions

)

{% if is_incremental() %}
{{ with_tombstones('renamed', 'scope', 'refund_id') }}
{% else %}
select * from renamed
{% endif %}
