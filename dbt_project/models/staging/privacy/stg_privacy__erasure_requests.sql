with

source as (

    select * from {{ source('raw', 'erasure_requests') }}

),

renamed as (

    select
        -- ids
        customer_key,

        -- timestamps
        requested_at,

        -- lineage
        _partition_date

    from source
    where customer_key is not null

),

deduplicated as (

    -- A person may ask more than once; the first request counts.
    select *
    from renamed
    qualify row_number() over (partition by customer_key order by requested_at, _partition_date) = 1

)

select * from deduplicated
