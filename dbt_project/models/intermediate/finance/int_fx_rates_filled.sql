-- Rates to the reporting currency as step functions: one row per currency and day on which
-- its rate or the reporting currency's rate changes, each holding until the next row
-- (valid_to, exclusive). Amounts convert with
--   `asof left join int_fx_rates_filled fx on fx.currency = x.currency and x.day >= fx.valid_from`
-- i.e. at the nearest earlier rate when their own day has none (METRICS 1):
--   amount_usd = amount / units_per_usd(currency, day)
--   amount_reporting = amount_usd * units_per_usd(reporting currency, day).
--
-- Rebuilt in full every run (a few rows per currency and day), as an incremental model so
-- that its change feed records which rate rows changed: fct_orders restates the orders and
-- refunds dated in a changed row's [valid_from, valid_to).
{{
    config(**restated_config(
        'currency',
        change_feed=['currency', 'valid_from', 'valid_to'],
        tombstone_column='valid_from',
    ))
}}

with

rates as (

    select
        currency,
        rate_date,
        units_per_usd
    from {{ ref('stg_fx__rates') }}
    where currency <> 'USD'

    union all

    -- a US dollar buys one US dollar: USD needs no rate file
    select
        'USD' as currency,
        date '1900-01-01' as rate_date,
        1.0 as units_per_usd

),

reporting_rates as (

    select
        rate_date,
        units_per_usd as reporting_units_per_usd
    from rates
    where currency = {{ reporting_currency() }}

),

first_rates as (

    select
        currency,
        min(rate_date) as first_rate_date
    from rates
    group by currency

),

change_days as (

    select
        currency,
        rate_date
    from rates

    union

    select
        first_rates.currency,
        reporting_rates.rate_date
    from first_rates
    inner join reporting_rates on first_rates.first_rate_date < reporting_rates.rate_date

),

filled as (

    select
        change_days.currency,
        change_days.rate_date as valid_from,
        rates.units_per_usd,
        reporting_rates.reporting_units_per_usd
    from change_days
    asof inner join rates
        on
            change_days.currency = rates.currency
            and change_days.rate_date >= rates.rate_date
    asof left join reporting_rates
        on change_days.rate_date >= reporting_rates.rate_date

),

final as (

    select
        currency,
        valid_from,
        lead(valid_from) over (partition by currency order by valid_from) as valid_to,
        units_per_usd,
        reporting_units_per_usd,
        -- null before the reporting currency's first rate: such amounts cannot be converted
        reporting_units_per_usd / units_per_usd as to_reporting_rate
    from filled

){% if is_incremental() %},

scope as (

    -- every currency, old and new, is restated
    select currency from final
    union
    select currency from {{ this }}

)

{{ with_tombstones('final', 'scope', 'currency') }}
{% else %}

select * from final
{% endif %}
