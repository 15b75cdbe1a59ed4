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

{#
    The conversion window (vars conversion_window_length, conversion_window_unit), one owner
    for funnel_daily and funnel_summary. `conversion_window_span()`: the window as an
    interval; `conversion_entry_moment()`: the column an entry is measured from, its date
    for calendar_day (whole UTC dates: day 30 in, day 31 out) or its time for hour and minute
    (elapsed time, the length inclusive). A bad unit or length fails at compile time.
#}
{% macro conversion_window_unit() -%}
    {%- set unit = var('conversion_window_unit') | string | trim | lower -%}
    {%- set length = var('conversion_window_length') | string | trim -%}
    {%- if unit not in ['calendar_day', 'hour', 'minute'] or not length.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            "conversion_window_unit must be calendar_day, hour or minute and "
            ~ "conversion_window_length a whole number, not '" ~ unit ~ "', '"
            ~ length ~ "'") }}
    {%- endif -%}
    {{ return(unit) }}
{%- endmacro %}

{% macro conversion_window_span() -%}
    {%- set unit = conversion_window_unit() -%}
    {%- set length = var('conversion_window_length') | string | trim -%}
    {{ {'calendar_day': 'to_days', 'hour': 'to_hours', 'minute': 'to_minutes'}[unit] }}({{ length }})
{%- endmacro %}

{% macro conversion_entry_moment() -%}
    {{ 'entered_date' if conversion_window_unit() == 'calendar_day' else 'entered_at' }}
{%- endmacro %}
