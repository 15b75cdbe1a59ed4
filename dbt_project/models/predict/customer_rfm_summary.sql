-- One row per customer with a purchase by as_of_date: the RFM summary the BG/NBD and
-- Gamma-Gamma fits read (customer_prediction_fits). Frequency counts repeat purchase *days*:
-- several purchases on one day are one occasion, as in Fader & Hardie's CDNOW data. Spend
-- per occasion is that day's net revenue (refunds already deducted in fct_orders), so the
-- first day's total is left out of the repeat mean.
{{ config(materialized='table') }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

purchase_days as (

    select
        orders.customer_key,
        orders.order_date,
        {{ exact_sum('coalesce(orders.net_revenue, 0)') }} as day_net_revenue
    from {{ ref('fct_orders') }} as orders
    where orders.is_purchase and orders.order_date <= (select as_of.as_of_date from as_of)
    group by orders.customer_key, orders.order_date

)

select
    customer_key,
    cast(count(*) - 1 as integer) as frequency,
    date_diff('day', min(order_date), max(order_date)) / 7.0 as recency_weeks,
    date_diff('day', min(order_date), (select as_of.as_of_date from as_of)) / 7.0 as age_weeks,
    coalesce(
        (
            cast(sum(cast(day_net_revenue as decimal(38, 10))) as double)
            - arg_min(day_net_revenue, order_date)
        )
        / nullif(count(*) - 1, 0),
        0
    ) as mean_repeat_net_spend,
    (select as_of.as_of_date from as_of) as as_of_date
from purchase_days
group by customer_key
