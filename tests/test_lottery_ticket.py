"""Tests of the lottery_ticket chapter: the defining property of its method (an equivariance, a masking rule,
a closed form) goes here, with the mutants it must catch (CONTRIBUTING.md, "Checks")."""
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("lottery_ticket")) == []
