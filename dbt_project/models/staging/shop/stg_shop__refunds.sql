with

source as (

    select * from {{ source('raw', 'refunds') }}

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

select * from renamed
