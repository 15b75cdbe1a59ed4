-- Every refund of a known order, converted to the reporting currency at its own day's rate
-- (nearest earlier rate), with `quarantine_reason` set when it cannot be taken at face value:
-- the refunds of an order, taken in time order (ties by refund_id), may not exceed the
-- order's amount; the refund that would pass it, and every later one, is quarantined (kept
-- here with the reason, left out of net revenue) so one bad row cannot block every mart.
-- Amounts compare in the order's currency when the refund has it, otherwise in the reporting
-- currency. Refunds of orders never seen are in int_refunds_unmatched.
-- Incremental: the refunds of the people in int_people_changed are restated.
{{ config(**restated_config('customer_key', scope='int_people_changed')) }}
{%- set people_changed = ref('int_people_changed') %}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where {{ people_changed_filter(people_changed) }}

),

fx as (

    select * from {{ ref('int_fx_rates_filled') }}

),

orders_converted as (

    select
        orders.order_id,
        orders.customer_key,
        orders.currency as order_currency,
        orders.amount as order_amount,
        cast(orders.amount as double) * fx.to_reporting_rate as order_amount_reporting
    from orders
    asof left join fx
        on
            orders.currency = fx.currency
            and orders.order_date >= fx.valid_from

),

refunds_converted as (

    select
        refunds.refund_id,
        refunds.order_id,
        orders_converted.customer_key,
        refunds.refunded_at,
        refunds.refund_date,
        refunds.currency,
        refunds.amount,
        cast(refunds.amount as double) * fx.to_reporting_rate as amount_reporting,
        orders_converted.order_currency,
        orders_converted.order_amount,
        orders_converted.order_amount_reporting
    from {{ ref('stg_shop__refunds') }} as refunds
    inner join orders_converted on refunds.order_id = orders_converted.order_id
    asof left join fx
        on
            refunds.currency = fx.currency
            and refunds.refund_date >= fx.valid_from

),

cumulated as (

    select
        *,
        sum(case when currency = order_currency then amount end) over refunds_so_far
            as refunded_so_far,
        count(case when currency <> order_currency then 1 end) over refunds_so_far
            as other_currency_refunds_so_far,
        sum(cast(amount_reporting as decimal(38, 10))) over refunds_so_far
            as refunded_reporting_so_far
    from refunds_converted
    window refunds_so_far as (
        partition by order_id
        order by refunded_at, refund_id
        rows between unbounded preceding and current row
    )

),

checked as (

    select
        *,
        case
            when other_currency_refunds_so_far = 0 then refunded_so_far > order_amount
            else refunded_reporting_so_far > cast(order_amount_reporting as decimal(38, 10))
        end as exceeds_order
    from cumulated

)

select
    -- ids
    refund_id,
    order_id,
    customer_key,

    -- timestamps
    refunded_at,
    refund_date,

    -- amounts
    currency,
    amount,
    amount_reporting,

    -- quarantine: once the order's refunds pass its amount, this and later refunds
    case
        when bool_or(exceeds_order) over (
            partition by order_id
            order by refunded_at, refund_id
            rows between unbounded preceding and current row
        ) then 'refunds exceed the order amount'
    end as quarantine_reason
from checked
