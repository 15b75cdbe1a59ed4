with

source as (

    select * from {{ source('raw', 'lifecycle_events') }}

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

select * from deduplicated
