with

source as (

    select * from {{ source('raw', 'touchpoints') }}

),

renamed as (

    select
        -- ids
        trim(contact_id) as contact_id,
        nullif(trim(campaign_id), '') as campaign_id,

        -- attributes
        lower(trim(channel)) as channel,
        nullif(lower(trim(touch_type)), '') as touch_type,

        -- timestamps
        occurred_at,

        -- lineage
        _partition_date

    from source

),

deduplicated as (

    -- Exact duplicates (after normalisation) are one touch; it keeps its first landing day.
    select *
    from renamed
    qualify row_number() over (
        partition by contact_id, occurred_at, channel, campaign_id, touch_type
        order by _partition_date
    ) = 1

),

final as (

    select
        -- a touch has no id in the source: its normalised content is its identity
        md5(concat_ws(
            '|', contact_id, strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f'), channel,
            coalesce(campaign_id, ''), coalesce(touch_type, '')
        )) as touchpoint_id,
        *
    from deduplicated

)

select * from final
