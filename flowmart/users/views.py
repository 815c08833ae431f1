from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def account_home(request):
    """One place for everything a customer owns: orders, returns, membership, cards, messages."""
    return render(request, "users/account_home.html")
