-- Ad spend per day, paid channel and campaign, in original and reporting currency (at the
-- rate of the spend day, nearest earlier when that day has none). Small (campaign-days),
-- so it is rebuilt in full every run: restated platform exports and late FX rates are
-- always reflected.
with

spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

),

fx as (

    select * from {{ ref('int_fx_rates_filled') }}

)

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
