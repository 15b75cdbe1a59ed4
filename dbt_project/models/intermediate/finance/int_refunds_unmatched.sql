-- Quarantine: refunds whose order has never landed. They count nowhere until their order
-- lands (then int_refunds_validated takes them in on that run). A warning test lists them.
select
    refunds.refund_id,
    refunds.order_id,
    refunds.refunded_at,
    refunds.currency,
    refunds.amount,
    'order never seen' as quarantine_reason
from {{ ref('stg_shop__refunds') }} as refunds
where not exists (
    select 1 from {{ ref('stg_shop__orders') }} as orders
    where orders.order_id = refunds.order_id
)
