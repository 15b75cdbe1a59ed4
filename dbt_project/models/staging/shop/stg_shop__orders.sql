-- One row per shop order: its latest landed version. Incremental: the orders whose versions
-- landed in the batch (or vanished from raw) are restated.
-- A table, not a view: customer_key() is a TEMP macro that exists only on dbt's own
-- connections, so a view calling it could not be read from any other connection.
{{
    config(**restated_config(
        'order_id',
        change_feed=['order_id', 'customer_key'],
        tombstone_column='customer_key',
    ))
}}
{%- set pending_loads = ref('batch_loads_pending') %}

with

{% if is_incremental() %}
scope as (

    {{ keys_to_restate(pending_loads, source('raw', 'orders'), 'orders',
                       'trim(order_id)', 'order_id') }}

),
{% endif %}

source as (

    select * from {{ source('raw', 'orders') }}
    {% if is_incremental() %}
    where trim(order_id) in (select order_id from scope)
    {% endif %}

),

latest_versions as (

    -- One row per order: exact duplicates collapse, and an order re-sent later (e.g. with a
    -- new status) replaces the earlier version.
    select *
    from source
    qualify row_number() over (
        partition by trim(order_id)
        order by _partition_date desc, _loaded_at desc, _source_file desc, _source_line desc
    ) = 1

),

renamed as (

    select
        -- ids
        trim(order_id) as order_id,
        customer_key(customer_email) as customer_key,  -- the e-mail stops here

        -- attributes
        lower(trim(status)) as status,
        -- a refunded order is a purchase whose revenue a refund removes (METRICS 1)
        lower(trim(status)) in ('paid', 'refunded') as is_purchase,
        upper(trim(currency)) as currency,

        -- numerics
        amount,

        -- timestamps
        ordered_at,
        cast(ordered_at as date) as order_date,

        -- lineage
        _partition_date

    from latest_versions

)

{% if is_incremental() %}
{{ with_tombstones('renamed', 'scope', 'order_id') }}
{% else %}
select * from renamed
{% endif %}
