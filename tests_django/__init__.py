"""Django's own session tests (``tests/sessions_tests`` of Django's source) against our engines.

Run by ``make test`` as a pytest run of its own (``--ds=tests_django.settings``): it needs
Django's test app ``sessions_tests`` installed, which the main suite does not.
"""
