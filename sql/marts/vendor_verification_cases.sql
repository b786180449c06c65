-- vendor_verification_cases: what the tool-call F1 interval resamples. A case (one case_id
-- of a suite, over every round it was asked in the period) is the unit: its answers share
-- the prompt, so they are not independent draws. One row per (period, period_type, provider,
-- model, suite) and case profile (tp, fp, fn summed over the case's compared answers), with
-- the number of cases having that profile; resampling cases is drawing profiles (a multinomial).
-- Read from the paired answers (`vv_answers`, vendor_verification_answers.sql).
with cases as (
    select
        period,
        period_type,
        provider,
        model,
        suite,
        case_id,
        count(*) filter (where is_tc and off_is_tc) as tp,
        count(*) filter (where is_tc and not off_is_tc) as fp,
        count(*) filter (where not is_tc and off_is_tc) as fn
    from vv_answers
    where compared
    group by period, period_type, provider, model, suite, case_id
)

select period, period_type, provider, model, suite, tp, fp, fn, count(*) as n_cases
from cases
group by all
order by all
