-- People with anything landed in the run window (vars min_date / max_date on
-- raw._partition_date): a contact version, touchpoint, CRM event or order. Incremental
-- core models recompute every row of these people, so a late event restates the whole
-- journey. With the default window this is everyone.
with

changed as (

    select customer_key
    from {{ ref('stg_crm__contacts') }}
    where {{ in_run_window('_partition_date') }}

    union

    select customer_key
    from {{ ref('int_touchpoints_resolved') }}
    where {{ in_run_window('_partition_date') }}

    union

    select contacts.customer_key
    from {{ ref('stg_crm__lifecycle_events') }} as events
    inner join {{ ref('stg_crm__contacts') }} as contacts
        on events.contact_id = contacts.contact_id
    where {{ in_run_window('events._partition_date') }}

    union

    select customer_key
    from {{ ref('stg_shop__orders') }}
    where {{ in_run_window('_partition_date') }}

)

select customer_key from changed
