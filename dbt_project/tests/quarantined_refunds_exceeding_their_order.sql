-- Warns about every refund held back because the order's refunds exceed its amount
-- (int_refunds_validated); they count nowhere until corrected at the source.
{{ config(severity='warn') }}

select
    refund_id,
    order_id,
    quarantine_reason
from {{ ref('int_refunds_validated') }}
where quarantine_reason is not null
