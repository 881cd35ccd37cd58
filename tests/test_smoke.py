import svitlo


def test_case9_intact_balanced(check):
    imp = svitlo.assess("case9")
    check(imp)
    assert imp.metrics["shed_mw"] == 0
    assert imp.metrics["islands"] == 1
