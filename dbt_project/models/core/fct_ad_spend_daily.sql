-- Ad spend per day, paid channel and campaign, in original and reporting currency (at the
-- rate of the spend day, nearest earlier when that day has none). Small (campaign-days),
-- so it is rebuilt in full every run: restated platform exports and late FX rates are
-- always reflected. It is an incremental model only for its change feed: the
-- (spend_date, channel) rows that changed, which cac_daily restates.
{{
    config(**restated_config(
        'channel',
        change_feed=['spend_date', 'channel'],
        tombstone_column='spend_date',
    ))
}}

with

spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

),

fx as (

    select * from {{ ref('int_fx_rates_filled') }}

),

final as (

    select
        -- ids
        spend.spend_date,
        spend.channel,
        spend.campaign_id,

        -- attributes
        spend.campaign_name,
        spend.currency,

        -- numerics
        spend.impressions,
        spend.clicks,
        spend.spend,
        cast(spend.spend as double) * fx.to_reporting_rate as spend_reporting
    from spend
    asof left join fx
        on
            spend.currency = fx.currency
            and spend.spend_date >= fx.valid_from

){% if is_incremental() %},

scope as (

    -- every channel, old and new, is restated
    select channel from final
    union
    select channel from {{ this }}

)

{{ with_tombstones('final', 'scope', 'channel') }}
{% else %}

select * from final
{% endif %}
