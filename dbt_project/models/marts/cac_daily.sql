-- Grain: one row per (date, channel, attribution_model), dense: every date from the first
-- spend or conversion to as_of_date, every channel of the `channels` seed plus 'all', every
-- model of the `attribution_models` seed. Trailing CACs divide window sums, never average
-- daily ratios, so the spine must be dense for `rows between n preceding` to mean n days.
--
-- Incremental: a date is restated when the change feeds of fct_attribution_credits or
-- fct_ad_spend_daily name it, when it is new to the spine, and for the 29 days after any of
-- those (their trailing sums include it); dates that left the spine are deleted. A change to
-- the channels or attribution_models seeds restates every date.
{{ config(**restated_config('date', tombstone_column='channel')) }}
{%- set credits_relation = ref('fct_attribution_credits') %}
{%- set spend_relation = ref('fct_ad_spend_daily') %}

with

spend as (
    select * from {{ spend_relation }}
),

credits as (
    select * from {{ credits_relation }}
),

channels as (
    select channel from {{ ref('channels') }}
),

attribution_models as (
    select attribution_model from {{ ref('attribution_models') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

spine_bounds as (
    select
        least(
            (select min(spend_date) from spend),
            (select min(conversion_date) from credits)
        ) as first_date,
        (select as_of_date from as_of) as last_date
),

date_spine as (
    select cast(unnest(generate_series(
        (select first_date from spine_bounds),
        (select last_date from spine_bounds),
        interval 1 day
    )) as date) as date
),

{% if is_incremental() %}
grid_changed as (
    -- a channel or model added to or removed from the seeds
    (
        select channels.channel, attribution_models.attribution_model
        from channels cross join attribution_models
        union
        select 'all' as channel, attribution_model from attribution_models
    )
    except
    select distinct channel, attribution_model from {{ this }}
),

grid_removed as (
    select distinct channel, attribution_model from {{ this }}
    except
    (
        select channels.channel, attribution_models.attribution_model
        from channels cross join attribution_models
        union
        select 'all' as channel, attribution_model from attribution_models
    )
),

changed_dates as (
    {% if has_change_feed(credits_relation) and has_change_feed(spend_relation) %}
    select conversion_date as date from {{ change_feed(credits_relation) }}
    union
    select spend_date as date from {{ change_feed(spend_relation) }}
    union
    -- new to the spine
    select date from date_spine
    where date not in (select date from {{ this }})
    union
    -- every date, when the seeds' channels or models changed
    select date from date_spine
    where exists (select 1 from grid_changed) or exists (select 1 from grid_removed)
    {% else %}
    select date from date_spine
    {% endif %}
),

restated_dates as (
    -- a changed date and the 29 after it (their trailing windows include it)
    select distinct date_spine.date
    from date_spine
    inner join changed_dates
        on date_spine.date between changed_dates.date and changed_dates.date + 29
),

scope as (
    select date from restated_dates
    union
    -- dates that left the spine
    select date from {{ this }}
    where
        date < (select first_date from spine_bounds)
        or date > (select last_date from spine_bounds)
),

computed_dates as (
    -- the restated dates and the 29 before each (their trailing windows read them)
    select distinct date_spine.date
    from date_spine
    inner join restated_dates
        on date_spine.date between restated_dates.date - 29 and restated_dates.date
),
{% else %}
computed_dates as (
    select date from date_spine
),
{% endif %}

spend_by_channel_day as (
    select
        spend_date as date,
        channel,
        {{ exact_sum('spend_reporting') }} as spend
    from spend
    where spend_date in (select computed_dates.date from computed_dates)
    group by all
),

credits_in_scope as (
    select * from credits
    where conversion_date in (select computed_dates.date from computed_dates)
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
    from credits_in_scope
    group by all
),

per_channel as (
    select
        computed_dates.date,
        channels.channel,
        attribution_models.attribution_model,
        coalesce(spend_by_channel_day.spend, 0) as spend,
        coalesce(conversions_by_channel_day.new_leads, 0) as new_leads,
        coalesce(conversions_by_channel_day.new_customers, 0) as new_customers
    from computed_dates
    cross join channels
    cross join attribution_models
    left join spend_by_channel_day
        on
            computed_dates.date = spend_by_channel_day.date
            and channels.channel = spend_by_channel_day.channel
    left join conversions_by_channel_day
        on
            computed_dates.date = conversions_by_channel_day.date
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
    from credits_in_scope
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
    select
        date,
        channel,
        attribution_model,
        spend,
        new_leads,
        new_customers
    from per_channel
    union all
    select
        date,
        channel,
        attribution_model,
        spend,
        new_leads,
        new_customers
    from blended
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
            range between interval 6 day preceding and current row
        ),
        trailing_30d as (
            partition by channel, attribution_model order by date
            range between interval 29 day preceding and current row
        )
),

final as (
    select
        cast(date as date) as date,
        cast(channel as varchar) as channel,
        cast(attribution_model as varchar) as attribution_model,
        cast(spend as double) as spend,
        cast(new_leads as double) as new_leads,
        cast(new_customers as double) as new_customers,
        cast(spend / nullif(new_leads, 0) as double) as cpl,
        cast(spend / nullif(new_customers, 0) as double) as cac,
        cast(spend_7d / nullif(new_customers_7d, 0) as double) as cac_7d,
        cast(spend_30d / nullif(new_customers_30d, 0) as double) as cac_30d
    from trailing_sums
    {% if is_incremental() %}
    where date in (select date from scope)
    {% endif %}
)

{% if is_incremental() %}
{{ with_tombstones('final', 'scope', 'date') }}
{% else %}
select * from final
{% endif %}
