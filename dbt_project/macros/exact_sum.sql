{#
    Sum of doubles that is the same on every run: DuckDB adds doubles in parallel, in an
    order that varies, and float addition is not associative, so a plain sum() can differ in
    its last bits between two runs over the same rows (and an incremental run would not equal
    a full rebuild). Accumulating in DECIMAL(38, 10) is exact, hence order-independent.
#}
{% macro exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 10))) as double)
{%- endmacro %}
