{#
    Typed accessors of the settings in dbt_project.yml `vars:`, so every model reads a
    setting the same way and a typo fails loudly at compile time.
#}
{% macro reporting_currency() -%}
    '{{ var("reporting_currency") | upper | trim }}'
{%- endmacro %}

{% macro setting_decimal(name) -%}
    cast({{ var(name) }} as decimal(18, 6))
{%- endmacro %}

{% macro setting_int(name) -%}
    cast({{ var(name) }} as integer)
{%- endmacro %}
