-- One row per landing day the extractor loaded, per entity (raw.load_log): when it was
-- (re)loaded and how many rows it gave. The batch of every build, and as_of_date, come from
-- here.
with

source as (

    select * from {{ source('raw', 'load_log') }}

),

renamed as (

    select
        -- ids
        entity,
        partition_date,

        -- attributes
        source_file,

        -- numerics
        data_records,
        rows_loaded,
        rows_rejected,
        rows_erased,

        -- timestamps
        loaded_at

    from source

)

select * from renamed
