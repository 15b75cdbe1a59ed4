-- The RFM summary at a calibration cutoff, with what each customer did in the holdout after
-- it, for the holdout evaluation of the purchase model (customer_prediction_holdout). The
-- holdout is the last min(26 weeks, a third of the purchase history) before as_of_date; a
-- history under three weeks holds nothing out (no rows).
{{ config(materialized='table') }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

purchases as (

    select
        customer_key,
        order_date,
        net_revenue
    from {{ ref('fct_orders') }}
    where is_purchase and order_date <= (select max(as_of_dates.as_of_date) from as_of as as_of_dates)

),

holdout as (

    select
        as_of.as_of_date,
        least(26 * 7, date_diff('day', min(purchases.order_date), as_of.as_of_date) // 3)
            as holdout_days
    from purchases
    cross join as_of
    group by as_of.as_of_date

),

cutoff as (

    select
        as_of_date,
        holdout_days,
        cast(as_of_date - cast(holdout_days as integer) as date) as calibration_end
    from holdout
    where holdout_days >= 7

),

calibration_days as (

    select
        purchases.customer_key,
        purchases.order_date,
        {{ exact_sum('coalesce(purchases.net_revenue, 0)') }} as day_net_revenue
    from purchases
    where purchases.order_date <= (select cutoff.calibration_end from cutoff)
    group by purchases.customer_key, purchases.order_date

),

summary as (

    select
        customer_key,
        cast(count(*) - 1 as integer) as frequency,
        date_diff('day', min(order_date), max(order_date)) / 7.0 as recency_weeks,
        date_diff('day', min(order_date), (select cutoff.calibration_end from cutoff)) / 7.0
            as age_weeks,
        coalesce(
            (
                cast(sum(cast(day_net_revenue as decimal(38, 10))) as double)
                - arg_min(day_net_revenue, order_date)
            )
            / nullif(count(*) - 1, 0),
            0
        ) as mean_repeat_net_spend
    from calibration_days
    group by customer_key

),

holdout_activity as (

    select
        customer_key,
        count(distinct order_date) as holdout_purchase_days,
        {{ exact_sum('coalesce(net_revenue, 0)') }} as holdout_net_revenue
    from purchases
    where order_date > (select cutoff.calibration_end from cutoff)
    group by customer_key

)

select
    summary.*,
    cast(coalesce(holdout_activity.holdout_purchase_days, 0) as integer)
        as holdout_purchase_days,
    coalesce(holdout_activity.holdout_net_revenue, 0) as holdout_net_revenue,
    cutoff.calibration_end,
    cutoff.as_of_date,
    cast(cutoff.holdout_days as integer) as holdout_days
from summary
cross join cutoff
left join holdout_activity on summary.customer_key = holdout_activity.customer_key
