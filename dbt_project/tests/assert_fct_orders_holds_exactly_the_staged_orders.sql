-- The incremental fct_orders neither misses an order nor keeps one that left staging
-- (e.g. after an erasure), whatever run windows built it.
select
    coalesce(staged.order_id, facts.order_id) as order_id,
    staged.order_id is null as is_stale_in_fct_orders
from {{ ref('stg_shop__orders') }} as staged
full outer join {{ ref('fct_orders') }} as facts on staged.order_id = facts.order_id
where staged.order_id is null or facts.order_id is null
