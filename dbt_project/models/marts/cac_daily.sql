-- Grain: one row per (date, channel, attribution_model), dense: every date from the first
-- spend or conversion to as_of_date, every channel of the `channels` seed plus 'all', every
-- attribution model. Trailing CACs divide window sums, never average daily ratios, so the
-- spine must be dense for `rows between n preceding` to mean n days.

with

spend as (
    select * from {{ ref('fct_ad_spend_daily') }}
),

credits as (
    select * from {{ ref('fct_attribution_credits') }}
),

channels as (
    select channel from {{ ref('channels') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

attribution_models as (
    select
        unnest([
            'first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'
        ]) as attribution_model
),

first_dates as (
    select min(spend_date) as first_date from spend
    union all
    select min(conversion_date) as first_date from credits
),

date_spine as (
    select cast(unnest(generate_series(
        (select min(first_date) from first_dates),
        (select as_of_date from as_of),
        interval 1 day
    )) as date) as date
),

spend_by_channel_day as (
    select
        spend_date as date,
        channel,
        {{ exact_sum('spend_reporting') }} as spend
    from spend
    group by all
),

conversions_by_channel_day as (
    select
        conversion_date as date,
        channel,
        attribution_model,
        cast(sum(cast(credit as decimal(38, 10))) filter (where conversion_type = 'lead') as double)
            as new_leads,
        cast(sum(cast(credit as decimal(38, 10))) filter (where conversion_type = 'customer') as double)
            as new_customers
    from credits
    group by all
),

per_channel as (
    select
        date_spine.date,
        channels.channel,
        attribution_models.attribution_model,
        coalesce(spend_by_channel_day.spend, 0) as spend,
        coalesce(conversions_by_channel_day.new_leads, 0) as new_leads,
        coalesce(conversions_by_channel_day.new_customers, 0) as new_customers
    from date_spine
    cross join channels
    cross join attribution_models
    left join spend_by_channel_day
        on
            date_spine.date = spend_by_channel_day.date
            and channels.channel = spend_by_channel_day.channel
    left join conversions_by_channel_day
        on
            date_spine.date = conversions_by_channel_day.date
            and channels.channel = conversions_by_channel_day.channel
            and attribution_models.attribution_model
            = conversions_by_channel_day.attribution_model
),

-- people converting per day and model; counted, not summed from credits, so the blended
-- figures are whole numbers free of floating-point residue (credits of a person sum to 1)
conversions_by_day as (
    select
        conversion_date as date,
        attribution_model,
        count(distinct customer_key) filter (where conversion_type = 'lead') as new_leads,
        count(distinct customer_key) filter (where conversion_type = 'customer')
            as new_customers
    from credits
    group by all
),

-- blended: all paid spend over all new customers
blended as (
    select
        per_channel.date,
        'all' as channel,
        per_channel.attribution_model,
        {{ exact_sum('per_channel.spend') }} as spend,
        coalesce(any_value(conversions_by_day.new_leads), 0) as new_leads,
        coalesce(any_value(conversions_by_day.new_customers), 0) as new_customers
    from per_channel
    left join conversions_by_day
        on
            per_channel.date = conversions_by_day.date
            and per_channel.attribution_model = conversions_by_day.attribution_model
    group by per_channel.date, per_channel.attribution_model
),

daily as (
    select * from per_channel
    union all by name
    select * from blended
),

trailing_sums as (
    select
        *,
        cast(sum(cast(spend as decimal(38, 10))) over trailing_7d as double) as spend_7d,
        cast(sum(cast(new_customers as decimal(38, 10))) over trailing_7d as double) as new_customers_7d,
        cast(sum(cast(spend as decimal(38, 10))) over trailing_30d as double) as spend_30d,
        cast(sum(cast(new_customers as decimal(38, 10))) over trailing_30d as double) as new_customers_30d
    from daily
    window
        trailing_7d as (
            partition by channel, attribution_model order by date
            rows between 6 preceding and current row
        ),
        trailing_30d as (
            partition by channel, attribution_model order by date
            rows between 29 preceding and current row
        )
),

final as (
    select
        date,
        channel,
        attribution_model,
        spend,
        new_leads,
        new_customers,
        spend / nullif(new_leads, 0) as cpl,
        spend / nullif(new_customers, 0) as cac,
        spend_7d / nullif(new_customers_7d, 0) as cac_7d,
        spend_30d / nullif(new_customers_30d, 0) as cac_30d
    from trailing_sums
)

select
    cast(date as date) as date,
    cast(channel as varchar) as channel,
    cast(attribution_model as varchar) as attribution_model,
    cast(spend as double) as spend,
    cast(new_leads as double) as new_leads,
    cast(new_customers as double) as new_customers,
    cast(cpl as double) as cpl,
    cast(cac as double) as cac,
    cast(cac_7d as double) as cac_7d,
    cast(cac_30d as double) as cac_30d
from final
