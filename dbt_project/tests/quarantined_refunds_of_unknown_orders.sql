-- Warns about every refund whose order has never landed (int_refunds_unmatched).
{{ config(severity='warn') }}

select
    refund_id,
    order_id,
    quarantine_reason
from {{ ref('int_refunds_unmatched') }}
