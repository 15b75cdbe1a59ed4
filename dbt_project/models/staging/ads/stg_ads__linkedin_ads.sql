with

source as (

    select * from {{ source('raw', 'linkedin_ads') }}

),

renamed as (

    select
        -- ids
        trim(campaign_id) as campaign_id,

        -- attributes
        nullif(trim(campaign_name), '') as campaign_name,
        upper(trim(currency)) as currency,

        -- numerics
        impressions,
        clicks,
        cast(cost_in_local_currency as decimal(18, 6)) as spend,  -- in the account currency

        -- dates
        day as spend_date,

        -- lineage
        _partition_date,
        _loaded_at,
        _source_file,
        _source_line

    from source

),

deduplicated as (

    -- One row per campaign-day: a re-sent or restated day replaces the earlier one.
    select *
    from renamed
    qualify row_number() over (
        partition by campaign_id, spend_date
        order by _partition_date desc, _loaded_at desc, _source_file desc, _source_line desc
    ) = 1

)

select * exclude (_loaded_at, _source_file, _source_line) from deduplicated
