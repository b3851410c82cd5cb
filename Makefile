.PHONY: demo test bench-intake messages

demo:  ## Install and run the platform with demo data on http://127.0.0.1:8000
	scripts/demo.sh

test:  ## Install and run the whole test suite against local PostgreSQL and Redis
	scripts/test.sh

bench-intake:  ## OCR error rate, upload-to-text and submit latency (see README)
	scripts/install.sh && scripts/services.sh && .venv/bin/python -m bench.intake

messages:  ## Refresh the Chinese translations after changing user-facing strings
	.venv/bin/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=bench --ignore=node_modules --no-obsolete
	.venv/bin/python manage.py compilemessages -l zh_Hans --ignore=.venv
