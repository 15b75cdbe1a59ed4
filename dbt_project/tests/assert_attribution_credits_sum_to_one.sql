-- Credits of one person, conversion type and attribution model sum to 1 (METRICS 4).
select
    customer_key,
    conversion_type,
    attribution_model,
    sum(credit) as total_credit
from {{ ref('fct_attribution_credits') }}
group by all
having abs(sum(credit) - 1.0) > 1e-9
