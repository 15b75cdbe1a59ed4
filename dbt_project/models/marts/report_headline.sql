-- Grain: one row per (item_kind, item). What the HTML report and the CLI summary show beyond
-- plain mart rows, so neither computes a number nor holds a list of its own:
-- - item_kind 'figure': the headline figures (customers, net revenue, blended CAC, blended
--   and paid-only LTV:CAC, repeat purchase rate) and the CAC chart's thin-window threshold,
--   each with its label, unit and definition. Derived from the published marts only
--   (customers, cac_daily, unit_economics_monthly), so every figure reconciles with them.
-- - item_kind 'channel', 'stage', 'attribution_model', 'lifecycle_state': the seeds' lists
--   (display order, label, colour, is_paid), which are not published otherwise. Channel rows
--   also carry cac_30d_reliable_from, where the CAC chart starts drawing the channel.
-- A plain table of a few dozen rows, rebuilt every build.
{%- set min_window_customers = var('report_cac_min_window_customers') %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customers as (
    select * from {{ ref('customers') }}
),

cac as (
    select * from {{ ref('cac_daily') }}
),

unit_economics as (
    select * from {{ ref('unit_economics_monthly') }}
),

channels as (
    select * from {{ ref('channels') }}
),

funnel_stages as (
    select * from {{ ref('funnel_stages') }}
),

attribution_models as (
    select * from {{ ref('attribution_models') }}
),

lifecycle_states as (
    select * from {{ ref('lifecycle_states') }}
),

-- blended CAC is the same in every model (each new customer is credited once in total):
-- read it from the seed's first model
first_model as (
    select attribution_model from attribution_models
    order by display_order, attribution_model
    limit 1
),

blended_cac as (
    select cac.cac_30d
    from cac
    inner join first_model on cac.attribution_model = first_model.attribution_model
    inner join as_of on cac.date = as_of.as_of_date
    where cac.channel = 'all'
),

customer_totals as (
    select
        count(*) as customers,
        sum(net_revenue) as net_revenue
    from customers
),

-- cohort revenue (ltv_12m x new_customers: the cohort's net revenue at the age read) and
-- spend of every cohort month to date, blended ('all') and over paid channels
unit_economics_paid as (
    select
        unit_economics.channel,
        unit_economics.spend,
        unit_economics.new_customers,
        unit_economics.repeat_purchase_rate,
        coalesce(unit_economics.ltv_12m * unit_economics.new_customers, 0) as cohort_revenue,
        coalesce(channels.is_paid, false) as is_paid
    from unit_economics
    left join channels on unit_economics.channel = channels.channel
),

unit_economics_totals as (
    select
        sum(cohort_revenue) filter (where channel = 'all') as blended_revenue,
        sum(spend) filter (where channel = 'all') as blended_spend,
        sum(cohort_revenue) filter (where is_paid) as paid_revenue,
        sum(spend) filter (where is_paid) as paid_spend,
        sum(repeat_purchase_rate * new_customers) filter (
            where channel = 'all' and repeat_purchase_rate is not null
        ) as repeat_customers,
        sum(new_customers) filter (where channel = 'all') as new_customers
    from unit_economics_paid
),

figure_values as (
    select
        customer_totals.customers,
        customer_totals.net_revenue,
        (select blended_cac.cac_30d from blended_cac) as blended_cac_30d,
        unit_economics_totals.blended_revenue * {{ setting_decimal('gross_margin') }}
        / nullif(unit_economics_totals.blended_spend, 0) as blended_ltv_to_cac,
        unit_economics_totals.paid_revenue * {{ setting_decimal('gross_margin') }}
        / nullif(unit_economics_totals.paid_spend, 0) as paid_ltv_to_cac,
        unit_economics_totals.repeat_customers
        / nullif(unit_economics_totals.new_customers, 0) as repeat_purchase_rate
    from customer_totals
    cross join unit_economics_totals
),

figure_definitions as (
    select
        definitions.display_order,
        definitions.item,
        definitions.display_label,
        definitions.unit,
        definitions.description
    from (
        values
        (
            1, 'customers', 'Customers', 'count',
            'People with at least one purchase (all time).'
        ),
        (
            2, 'net_revenue', 'Net revenue', 'money',
            'All time, after refunds.'
        ),
        (
            3, 'blended_cac_30d', 'Blended CAC, last 30 days', 'money',
            'All paid spend / all new customers (organic included) over the 30 days to the '
            || 'as-of date; n/a with no new customers.'
        ),
        (
            4, 'blended_ltv_to_cac', 'LTV:CAC, blended (incl. organic customers)', 'ratio',
            'Every cohort to date: net revenue of all new customers, organic included '
            || '(12-month LTV, so far for younger cohorts) x gross margin / all paid spend. '
            || 'Organic customers cost nothing, so this sits above the paid-only figure.'
        ),
        (
            5, 'paid_ltv_to_cac', 'LTV:CAC, paid channels only', 'ratio',
            'The same over paid channels only: net revenue of the customers a paid channel '
            || 'acquired (first touch) x gross margin / that spend.'
        ),
        (
            6, 'repeat_purchase_rate', 'Repeat purchase rate', 'share',
            'Share of new customers (every cohort) whose second purchase came within '
            || '{{ var("repeat_window_days") }} days of the first; the windows of recent '
            || 'cohorts are still open.'
        ),
        (
            7, 'cac_min_window_customers', 'CAC chart: minimum new customers per window',
            'count',
            'A channel''s trailing 30-day CAC is drawn from the first day on which every '
            || 'attribution model credits it with at least this many new customers over '
            || 'the window; thinner windows swing wildly.'
        )
    ) as definitions (display_order, item, display_label, unit, description)
),

figures as (
    select
        'figure' as item_kind,
        figure_definitions.item,
        figure_definitions.display_order,
        figure_definitions.display_label,
        figure_definitions.description,
        figure_definitions.unit,
        case figure_definitions.item
            when 'customers' then figure_values.customers
            when 'net_revenue' then figure_values.net_revenue
            when 'blended_cac_30d' then figure_values.blended_cac_30d
            when 'blended_ltv_to_cac' then figure_values.blended_ltv_to_cac
            when 'paid_ltv_to_cac' then figure_values.paid_ltv_to_cac
            when 'repeat_purchase_rate' then figure_values.repeat_purchase_rate
            when 'cac_min_window_customers' then {{ min_window_customers }}
        end as figure_value,
        null as colour,
        null as is_paid,
        null as cac_30d_reliable_from
    from figure_definitions
    cross join figure_values
),

-- new customers credited over the trailing 30 days, per channel, model and day (days
-- before the first date count as zero, as in cac_30d)
trailing_customers as (
    select
        channel,
        attribution_model,
        date,
        sum(new_customers) over (
            partition by channel, attribution_model
            order by date
            range between interval 29 day preceding and current row
        ) as new_customers_30d
    from cac
),

-- the first day on which every model's window holds enough new customers (a tolerance for
-- fractional credits that add up to a whole number)
reliable_from as (
    select
        channel,
        min(date) as cac_30d_reliable_from
    from (
        select
            channel,
            date
        from trailing_customers
        group by channel, date
        having min(new_customers_30d) >= {{ min_window_customers }} - 1e-9
    ) as reliable_days
    group by channel
),

channel_items as (
    select
        channel,
        display_order,
        label as display_label,
        colour,
        is_paid
    from channels
    union all
    select
        'all' as channel,
        0 as display_order,
        'All channels (blended)' as display_label,
        '#333333' as colour,
        null as is_paid
),

reference_items as (
    select
        'channel' as item_kind,
        channel_items.channel as item,
        channel_items.display_order,
        channel_items.display_label,
        null as description,
        null as unit,
        null as figure_value,
        channel_items.colour,
        channel_items.is_paid,
        reliable_from.cac_30d_reliable_from
    from channel_items
    left join reliable_from on channel_items.channel = reliable_from.channel
    union all
    select
        'stage' as item_kind,
        stage as item,
        stage_order as display_order,
        stage as display_label,
        null as description,
        null as unit,
        null as figure_value,
        null as colour,
        null as is_paid,
        null as cac_30d_reliable_from
    from funnel_stages
    union all
    select
        'attribution_model' as item_kind,
        attribution_model as item,
        display_order,
        label as display_label,
        null as description,
        null as unit,
        null as figure_value,
        null as colour,
        null as is_paid,
        null as cac_30d_reliable_from
    from attribution_models
    union all
    select
        'lifecycle_state' as item_kind,
        state as item,
        display_order,
        label as display_label,
        null as description,
        null as unit,
        null as figure_value,
        colour,
        null as is_paid,
        null as cac_30d_reliable_from
    from lifecycle_states
),

final as (
    select * from figures
    union all
    select * from reference_items
)

select
    cast(final.item_kind as varchar) as item_kind,
    cast(final.item as varchar) as item,
    cast(final.display_order as integer) as display_order,
    cast(final.display_label as varchar) as display_label,
    cast(final.description as varchar) as description,
    cast(final.unit as varchar) as unit,
    cast(round(final.figure_value, 4) as decimal(18, 4)) as figure_value,
    cast(final.colour as varchar) as colour,
    cast(final.is_paid as boolean) as is_paid,
    cast(final.cac_30d_reliable_from as date) as cac_30d_reliable_from,
    cast(as_of.as_of_date as date) as as_of_date
from final
cross join as_of
