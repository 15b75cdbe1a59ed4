with

source as (

    select * from {{ source('raw', 'fx_rates') }}

),

renamed as (

    select
        -- ids
        upper(trim(currency)) as currency,

        -- numerics
        units_per_usd,

        -- dates
        date as rate_date,

        -- lineage
        _partition_date,
        _loaded_at,
        _source_file,
        _source_line

    from source
    -- a rate of zero or below cannot convert anything
    where units_per_usd > 0

),

deduplicated as (

    -- One rate per currency and day: a re-sent day replaces the earlier one.
    select *
    from renamed
    qualify row_number() over (
        partition by currency, rate_date
        order by _partition_date desc, _loaded_at desc, _source_file desc, _source_line desc
    ) = 1

)

select * exclude (_loaded_at, _source_file, _source_line) from deduplicated
